// `janus info` report (pipelines/model_report.h, include/janus/checkpoint.h): missing / unexpected /
// mis-shaped tensors, per-part counts and the memory estimate, on fixtures whose contents are known
// by construction (scripts/reference/make_io_fixtures.py) and on the text team's tiny Janus model.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "janus/checkpoint.h"
#include "janus/error.h"
#include "janus/generate.h"
#include "pipelines/model_report.h"

namespace {

const std::string kData = std::string(JANUS_TEST_DATA);

TEST(Info, ReportsMissingUnexpectedAndMisshapedTensors) {
    janus::InfoOptions opt;
    auto r = janus::info::inspect_model(kData + "/io/info_llama", opt);
    ASSERT_TRUE(r.config.has_value());
    ASSERT_EQ(r.missing.size(), 1u);
    EXPECT_EQ(r.missing[0].name, "model.layers.1.mlp.up_proj.weight");
    EXPECT_EQ(r.missing[0].shape, (std::vector<int64_t>{16, 8}));
    ASSERT_EQ(r.unexpected.size(), 1u);
    EXPECT_EQ(r.unexpected[0], "model.layers.0.self_attn.rotary_emb.inv_freq");
    ASSERT_EQ(r.mismatched.size(), 1u);
    EXPECT_EQ(r.mismatched[0].name, "model.norm.weight");
    EXPECT_EQ(r.tensors, 21);
    // Parameter count by hand: embed 128 + 2 layers x (norms 8+8, q 64, k 32, v 32, o 64, gate/up/down
    // 128 each) minus the missing up_proj 128,
    // + norm 9 + lm_head 128 + inv_freq 2.
    EXPECT_EQ(r.params, 128 + 2 * (8 + 64 + 32 + 32 + 64 + 8 + 3 * 128) - 128 + 9 + 128 + 2);
    // KV: 2 (K,V) x 2 layers x 1 kv head x head_dim 4 x 2 bytes = 32 B per token; context = min(64, 4096).
    EXPECT_EQ(r.memory.kv_bytes_per_token, 32);
    EXPECT_EQ(r.memory.chat_context, 64);
    EXPECT_EQ(r.memory.chat_kv, 32u * 64u);
}

TEST(Info, JsonOutputParsesAndCarriesTheSameFacts) {
    janus::InfoOptions opt;
    opt.json = true;
    opt.context = 100;
    auto j = nlohmann::json::parse(janus::describe_checkpoint(kData + "/io/info_llama", opt));
    EXPECT_EQ(j["architecture"], "LlamaForCausalLM");
    EXPECT_EQ(j["format"], "safetensors");
    EXPECT_EQ(j["missing"].size(), 1u);
    EXPECT_EQ(j["unexpected"].size(), 1u);
    EXPECT_EQ(j["shape_mismatch"].size(), 1u);
    EXPECT_EQ(j["memory"]["chat"]["context"], 100);
    EXPECT_EQ(j["memory"]["chat"]["kv_bytes"], 3200);
}

TEST(Info, UnknownArchitectureListsSupportedOnes) {
    try {
        janus::describe_checkpoint(kData + "/io/info_unknown_arch");
        FAIL() << "expected an error";
    } catch (const janus::Error& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("config.json: unsupported architecture 'MistralForCausalLM'"), std::string::npos) << m;
        EXPECT_NE(m.find("LlamaForCausalLM"), std::string::npos) << m;
        EXPECT_NE(m.find("MultiModalityCausalLM"), std::string::npos) << m;
    }
}

TEST(Info, TinyJanusHasEveryExpectedTensor) {
    // The text team's tiny Janus (scripts/reference/make_text_fixtures.py) is built with the real
    // module tree at small widths; the name map must match every tensor in it.
    janus::InfoOptions opt;
    opt.parallel = 2;
    auto r = janus::info::inspect_model(kData + "/models/tiny-janus-lm/bf16", opt);
    ASSERT_TRUE(r.config && r.config->janus);
    EXPECT_TRUE(r.missing.empty());
    EXPECT_TRUE(r.unexpected.empty());
    EXPECT_TRUE(r.mismatched.empty());
    EXPECT_EQ(r.format, "torch-zip");
    EXPECT_EQ(r.files.size(), 2u);
    EXPECT_EQ(r.memory.gen_rows, 4);
    EXPECT_LT(r.memory.weights_used, r.memory.weights_all) << "attn_pool and the VQ encoder are not read";
    std::string text = janus::describe_checkpoint(kData + "/models/tiny-janus-lm/bf16", opt);
    EXPECT_NE(text.find("vq.decoder"), std::string::npos);
    EXPECT_NE(text.find("all 216 expected tensors present"), std::string::npos) << text;
}

TEST(Info, TransformersJanusHasEveryExpectedTensor) {
    // The transformers layout's VQ dims live in vq_config (latent_channels, base_channels,
    // channel_multiplier, num_res_blocks): one parser (models/model_config.cpp) reads them for both
    // `janus info` and the VQ model. Before it did, info expected the VQ-16 defaults here and listed
    // 104 missing and 236 mis-shaped tensors for a checkpoint that runs fine.
    auto r = janus::info::inspect_model(kData + "/models/tiny-janus-hf", {});
    ASSERT_TRUE(r.config && r.config->janus);
    EXPECT_EQ(r.scheme, janus::models::NameScheme::transformers);
    EXPECT_TRUE(r.missing.empty()) << r.missing.size() << " missing, first " << r.missing[0].name;
    EXPECT_TRUE(r.mismatched.empty()) << r.mismatched.size() << " mis-shaped, first " << r.mismatched[0].name;
    EXPECT_TRUE(r.unexpected.empty());
    EXPECT_EQ(r.config->janus->gen_vision.ch, 32);
    EXPECT_EQ(r.config->janus->gen_vision.num_res_blocks, 1);
}

TEST(Info, GenerationMemoryIsThePipelinesPlan) {
    // `janus info` asks the same plan as `janus generate --dry-run` (pipelines/generate_plan.cpp), with
    // the model's own image grid: janus-shapes draws 128 px pictures, 8 x 8 = 64 codes (not 576).
    const std::string dir = std::string(JANUS_SOURCE_DIR) + "/samples/models/janus-shapes";
    janus::InfoOptions opt;
    opt.parallel = 3;
    auto r = janus::info::inspect_model(dir, opt);
    ASSERT_TRUE(r.config && r.config->janus);
    EXPECT_EQ(r.memory.gen_tokens, 64 + 64);
    janus::ImageGenOptions go;
    go.model = dir;
    go.device = "cpu";
    auto gen = janus::ImageGenerator::open(go);
    janus::ImageRequest req;
    req.prompt = "a red circle";
    req.n = 3;
    janus::MemoryPlan p = gen->plan(req);
    EXPECT_EQ(p.image_tokens, 64);
    EXPECT_EQ(int64_t(r.memory.vq_decode), p.vq_bytes);
    EXPECT_EQ(r.memory.gen_rows, 2 * p.images_per_step);
    // KV per token per row is the same; the rows differ only in prompt length (64 assumed vs this one).
    EXPECT_EQ(int64_t(r.memory.gen_kv) / (r.memory.gen_rows * r.memory.gen_tokens),
              p.kv_bytes / (2 * p.images_per_step * p.kv_tokens_per_row));
}

TEST(Info, NoConfigStillListsTensors) {
    auto r = janus::info::inspect_model(kData + "/io/torch_views.bin", {});
    EXPECT_FALSE(r.config.has_value());
    EXPECT_EQ(r.tensors, 8);
    EXPECT_NE(janus::describe_checkpoint(kData + "/io/torch_views.bin").find("architecture: unknown"), std::string::npos);
}

}  // namespace
