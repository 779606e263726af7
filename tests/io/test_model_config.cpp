// config.json parsing (transformers defaults) and the expected-tensor lists. The Janus-Pro parameter
// counts are the exact numbers of facts §1.7 / §2.5, which were cross-checked against the published
// checkpoint byte sizes — an independent check of every shape the name map derives from config.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "janus/error.h"
#include "models/model_config.h"
#include "models/tensor_names.h"
#include "text/lm_config.h"

namespace {

using namespace janus::models;

const std::string kConfigs = std::string(JANUS_TEST_DATA) + "/io/configs/";

ModelConfig load_json(const std::string& file) {
    std::ifstream in(kConfigs + file);
    return ModelConfig::from_json(nlohmann::json::parse(in), file);
}

std::map<std::string, int64_t> params_by_part(const std::vector<ExpectedTensor>& ts, int64_t* total) {
    std::map<std::string, int64_t> m;
    *total = 0;
    for (const auto& t : ts) {
        int64_t n = 1;
        for (int64_t d : t.shape) n *= d;
        m[t.part] += n;
        *total += n;
    }
    return m;
}

TEST(ModelConfig, JanusPro7BDefaultsAndExactParameterCount) {
    ModelConfig c = load_json("janus_pro_7b.json");
    ASSERT_EQ(c.architecture, Architecture::janus);
    ASSERT_TRUE(c.janus.has_value());
    const LanguageConfig& l = c.language;
    // Absent keys take LlamaConfig defaults (facts §1.2).
    EXPECT_EQ(l.hidden_size, 4096);
    EXPECT_EQ(l.intermediate_size, 11008);
    EXPECT_EQ(l.num_attention_heads, 32);
    EXPECT_EQ(l.num_key_value_heads, 32);
    EXPECT_EQ(l.head_dim, 128);
    EXPECT_EQ(l.num_hidden_layers, 30);
    EXPECT_EQ(l.max_position_embeddings, 16384);
    EXPECT_DOUBLE_EQ(l.rms_norm_eps, 1e-6);
    EXPECT_DOUBLE_EQ(l.rope_theta, 10000.0);
    EXPECT_FALSE(l.tie_word_embeddings);
    EXPECT_EQ(l.torch_dtype, "bfloat16");
    EXPECT_EQ(c.janus->vision.depth, 24);
    EXPECT_EQ(c.janus->aligner.n_embed, 4096);
    EXPECT_EQ(c.janus->gen_head.image_token_size, 16384);

    int64_t total = 0;
    auto parts = params_by_part(expected_tensors(c, NameScheme::official), &total);
    EXPECT_EQ(total, 7420434059);  // = index total_size 14,840,868,118 bytes / 2
    EXPECT_EQ(parts["lm"], 6910365696);
    EXPECT_EQ(parts["siglip"], 303688704);
    EXPECT_EQ(parts["siglip.attn_pool"], 12595200);
    EXPECT_EQ(parts["aligner"], 20979712);
    EXPECT_EQ(parts["gen_aligner"], 16818176);
    EXPECT_EQ(parts["gen_embed"], 131072);
    EXPECT_EQ(parts["gen_head"], 83906560);
    EXPECT_EQ(parts["vq.encoder"], 29298176);
    EXPECT_EQ(parts["vq.decoder"], 42449795);
    EXPECT_EQ(parts["vq.quantize"], 131072 + 4360 + 65536);  // codebook + quant convs + codebook_used
}

TEST(ModelConfig, JanusPro1BExactParameterCount) {
    ModelConfig c = load_json("janus_pro_1b.json");
    int64_t total = 0;
    auto parts = params_by_part(expected_tensors(c, NameScheme::official), &total);
    EXPECT_EQ(total, 2089297547);
    EXPECT_EQ(parts["lm"], 1652656128);
    EXPECT_EQ(parts["aligner"], 6295552);
    EXPECT_EQ(parts["gen_aligner"], 4214784);
    EXPECT_EQ(parts["gen_head"], 37767168);
}

TEST(ModelConfig, TransformersNamesMapBackToOfficial) {
    ModelConfig c = load_json("janus_pro_1b.json");
    auto official = expected_tensors(c, NameScheme::official);
    auto converted = expected_tensors(c, NameScheme::transformers);
    int64_t t_off = 0, t_conv = 0;
    params_by_part(official, &t_off);
    params_by_part(converted, &t_conv);
    EXPECT_EQ(t_conv, t_off - 12595200 - 65536) << "only attn_pool and codebook_used are dropped";
    auto map = transformers_to_official(c);
    EXPECT_EQ(map.size(), converted.size());
    for (const auto& e : converted) EXPECT_TRUE(map.count(e.name)) << e.name;
    auto k = map.at("model.vision_model.encoder.layers.3.self_attn.k_proj.weight");
    EXPECT_EQ(k.name, "vision_model.vision_tower.blocks.3.attn.qkv.weight");
    EXPECT_EQ(k.qkv_part, 1);
    EXPECT_EQ(map.at("model.vqmodel.decoder.up.0.block.1.conv1.weight").name,
              "gen_vision_model.decoder.conv_blocks.0.res.1.conv1.weight");
    EXPECT_EQ(map.at("model.vqmodel.decoder.mid.attn_1.q.bias").name, "gen_vision_model.decoder.mid.1.q.bias");
    EXPECT_EQ(map.at("model.aligner.hidden_layers.0.weight").name, "aligner.layers.2.weight");
    EXPECT_EQ(map.at("model.generation_head.proj_out.bias").name, "gen_head.output_mlp_projector.bias");
    EXPECT_EQ(map.at("lm_head.weight").name, "language_model.lm_head.weight");
    EXPECT_EQ(map.at("model.language_model.layers.5.mlp.up_proj.weight").name,
              "language_model.model.layers.5.mlp.up_proj.weight");
    EXPECT_TRUE(map.at("model.vision_model.embeddings.position_embedding.weight").squeezed);
}

TEST(ModelConfig, LlamaDefaults) {
    ModelConfig c = ModelConfig::from_json(nlohmann::json::parse(R"({"architectures": ["LlamaForCausalLM"]})"), "x");
    EXPECT_EQ(c.architecture, Architecture::llama);
    EXPECT_EQ(c.language.vocab_size, 32000);
    EXPECT_EQ(c.language.max_position_embeddings, 2048);
    EXPECT_EQ(c.language.num_key_value_heads, 32);
    EXPECT_EQ(c.language.bos_token_id.value(), 1);
    EXPECT_EQ(c.language.eos_token_ids, std::vector<int64_t>{2});
    EXPECT_FALSE(c.language.qkv_bias());
    auto ts = expected_tensors(c, NameScheme::official);
    EXPECT_EQ(ts.size(), size_t(1 + 32 * 9 + 1 + 1));
    EXPECT_FALSE(ts.back().optional) << "lm_head required when untied";
}

TEST(ModelConfig, Llama3GqaTiedRopeScaling) {
    auto j = nlohmann::json::parse(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 2048,
        "num_attention_heads": 32, "num_key_value_heads": 8, "num_hidden_layers": 16, "vocab_size": 128256,
        "intermediate_size": 8192, "tie_word_embeddings": true, "rope_theta": 500000.0, "head_dim": 64,
        "eos_token_id": [128001, 128008, 128009], "bos_token_id": 128000,
        "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"}})");
    ModelConfig c = ModelConfig::from_json(j, "llama3.json");
    EXPECT_EQ(c.language.rope_scaling.type, "llama3");
    EXPECT_DOUBLE_EQ(c.language.rope_scaling.factor, 32.0);
    EXPECT_EQ(c.language.rope_scaling.original_max_position, 8192);
    EXPECT_EQ(c.language.eos_token_ids.size(), 3u);
    EXPECT_EQ(c.language.kv_bytes_per_token(2), 2 * 16 * 8 * 64 * 2);
    auto ts = expected_tensors(c, NameScheme::official);
    EXPECT_TRUE(ts.back().optional) << "tied lm_head may be absent";
    EXPECT_EQ(ts[3].name, "model.layers.0.self_attn.k_proj.weight");
    EXPECT_EQ(ts[3].shape, (std::vector<int64_t>{512, 2048}));  // k_proj: kv_heads * head_dim rows
}

TEST(ModelConfig, Qwen2DefaultsAndBiases) {
    ModelConfig c = ModelConfig::from_json(nlohmann::json::parse(R"({"model_type": "qwen2", "num_hidden_layers": 2})"), "q");
    EXPECT_EQ(c.architecture, Architecture::qwen2);
    EXPECT_EQ(c.language.vocab_size, 151936);
    EXPECT_EQ(c.language.intermediate_size, 22016);
    EXPECT_EQ(c.language.max_position_embeddings, 32768);
    EXPECT_FALSE(c.language.bos_token_id.has_value());
    EXPECT_TRUE(c.language.qkv_bias());
    EXPECT_FALSE(c.language.o_bias());
    EXPECT_EQ(expected_tensors(c, NameScheme::official).size(), size_t(1 + 2 * 12 + 2));
}

TEST(ModelConfig, ErrorsNameTheProblem) {
    try {
        ModelConfig::from_json(nlohmann::json::parse(R"({"architectures": ["MistralForCausalLM"]})"), "cfg.json");
        FAIL();
    } catch (const janus::Error& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("cfg.json: unsupported architecture 'MistralForCausalLM'"), std::string::npos) << m;
        EXPECT_NE(m.find("Qwen2ForCausalLM"), std::string::npos) << m;
    }
    EXPECT_THROW(ModelConfig::from_json(nlohmann::json::parse(R"({"model_type": "llama", "hidden_size": "big"})"), "c"),
                 janus::Error);
    EXPECT_THROW(ModelConfig::from_json(nlohmann::json::parse(R"({"model_type": "llama", "num_key_value_heads": 5})"), "c"),
                 janus::Error);
    EXPECT_THROW(ModelConfig::load("/nonexistent-dir"), janus::Error);
}

// text/lm_config.cpp builds the runtime LmConfig from parse_language_config (one parser): every
// hyper-parameter must come through unchanged, and the runtime adds only its own support checks.
TEST(ModelConfig, LmConfigComesFromTheSameParser) {
    auto j = nlohmann::json::parse(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 2048,
        "num_attention_heads": 32, "num_key_value_heads": 8, "num_hidden_layers": 16, "vocab_size": 128256,
        "intermediate_size": 8192, "tie_word_embeddings": true, "rope_theta": 500000.0, "head_dim": 64,
        "rms_norm_eps": 1e-5, "max_position_embeddings": 131072, "torch_dtype": "bfloat16",
        "eos_token_id": [128001, 128008, 128009], "bos_token_id": 128000,
        "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"}})");
    LanguageConfig l = parse_language_config(j, "llama", "llama3.json");
    janus::LmConfig c = janus::LmConfig::from_json(j, "LlamaForCausalLM", "llama3.json");
    EXPECT_EQ(c.architecture, "LlamaForCausalLM");
    EXPECT_EQ(c.vocab_size, l.vocab_size);
    EXPECT_EQ(c.hidden, 2048);
    EXPECT_EQ(c.intermediate, 8192);
    EXPECT_EQ(c.layers, 16);
    EXPECT_EQ(c.heads, 32);
    EXPECT_EQ(c.kv_heads, 8);
    EXPECT_EQ(c.head_dim, 64);
    EXPECT_EQ(c.max_position, 131072);
    EXPECT_FLOAT_EQ(c.rms_eps, 1e-5f);
    EXPECT_FLOAT_EQ(c.rope_theta, 500000.0f);
    EXPECT_TRUE(c.tie_embeddings);
    EXPECT_FALSE(c.qkv_bias);
    EXPECT_EQ(c.torch_dtype, "bfloat16");
    EXPECT_EQ(c.rope_scaling.type, "llama3");
    EXPECT_FLOAT_EQ(c.rope_scaling.factor, 32.0f);
    EXPECT_FLOAT_EQ(c.rope_scaling.low_freq_factor, 1.0f);
    EXPECT_FLOAT_EQ(c.rope_scaling.high_freq_factor, 4.0f);
    EXPECT_EQ(c.rope_scaling.original_max_position, 8192);
    EXPECT_EQ(c.eos_ids, (std::vector<int32_t>{128001, 128008, 128009}));
    EXPECT_EQ(c.bos_id, 128000);
}

// LlamaConfig's default eos (2) is a config attribute (janus info shows it) but never a runtime stop
// id: the reference passes the tokenizer's EOS to generate() (facts §4.3).
TEST(ModelConfig, DefaultEosIsNotARuntimeStopId) {
    ModelConfig m = load_json("janus_pro_7b.json");
    EXPECT_EQ(m.language.eos_token_ids, std::vector<int64_t>{2});
    EXPECT_FALSE(m.language.eos_token_id_declared);
    janus::LmConfig c = janus::LmConfig::from_language_config(m.language, "janus_pro_7b.json");
    EXPECT_TRUE(c.eos_ids.empty());
    EXPECT_EQ(c.bos_id, -1);
    EXPECT_EQ(c.hidden, 4096);
    EXPECT_EQ(c.layers, 30);
    EXPECT_EQ(c.parameter_count(), 6910365696);  // facts §2.5, as the io name map counts it above
}

// Qwen2Config has no attention_bias / mlp_bias keys: q/k/v are always biased, o and the MLP never.
TEST(ModelConfig, Qwen2BiasesAndSlidingWindow) {
    auto j = nlohmann::json::parse(R"({"model_type": "qwen2", "num_hidden_layers": 2, "attention_bias": true,
        "mlp_bias": true, "use_sliding_window": true})");
    ModelConfig m = ModelConfig::from_json(j, "q.json");
    EXPECT_TRUE(m.language.qkv_bias());
    EXPECT_FALSE(m.language.o_bias());
    EXPECT_FALSE(m.language.mlp_bias);
    EXPECT_TRUE(m.language.use_sliding_window) << "parsed, so janus info can show it";
    EXPECT_EQ(expected_tensors(m, NameScheme::official).size(), size_t(1 + 2 * 12 + 2));
    try {
        janus::LmConfig::from_json(j, "Qwen2ForCausalLM", "q.json");
        FAIL() << "sliding-window attention is not supported at run time";
    } catch (const janus::Error& e) {
        EXPECT_NE(std::string(e.what()).find("use_sliding_window"), std::string::npos) << e.what();
    }
    j["use_sliding_window"] = false;
    janus::LmConfig c = janus::LmConfig::from_json(j, "Qwen2ForCausalLM", "q.json");
    EXPECT_TRUE(c.qkv_bias);
    EXPECT_FALSE(c.o_bias);
    EXPECT_FALSE(c.mlp_bias);
    EXPECT_EQ(c.vocab_size, 151936);
    EXPECT_EQ(c.max_position, 32768);
}

TEST(ModelConfig, RuntimeRejectsWhatTheDecoderCannotRun) {
    auto expect_error = [](const char* json, const char* needle) {
        auto j = nlohmann::json::parse(json);
        try {
            janus::LmConfig::from_json(j, "LlamaForCausalLM", "cfg.json");
            ADD_FAILURE() << "no error for " << json;
        } catch (const janus::Error& e) {
            std::string m = e.what();
            EXPECT_NE(m.find("cfg.json"), std::string::npos) << m;
            EXPECT_NE(m.find(needle), std::string::npos) << m;
        }
    };
    // Parsed (janus info shows them) but not runnable:
    EXPECT_EQ(parse_language_config(nlohmann::json::parse(R"({"rope_scaling": {"rope_type": "yarn", "factor": 4}})"),
                                    "llama", "c").rope_scaling.type, "yarn");
    expect_error(R"({"rope_scaling": {"rope_type": "yarn", "factor": 4}})", "rope_scaling type 'yarn'");
    expect_error(R"({"rope_scaling": {"type": "linear", "factor": 0}})", "rope_scaling.factor");
    expect_error(R"({"hidden_act": "gelu"})", "hidden_act 'gelu'");
    expect_error(R"({"hidden_size": 96, "num_attention_heads": 32, "head_dim": 3})", "head_dim");
    expect_error(R"({"eos_token_id": -5})", "eos_token_id");
    // Malformed for both:
    expect_error(R"({"rope_scaling": "llama3"})", "rope_scaling");
    expect_error(R"({"num_key_value_heads": 5})", "num_key_value_heads");
    expect_error(R"({"eos_token_id": "</s>"})", "eos_token_id");
    expect_error(R"([1, 2])", "JSON object");
    EXPECT_THROW(janus::LmConfig::from_json(nlohmann::json::object(), "MistralForCausalLM", "c"), janus::Error);
}

}  // namespace
