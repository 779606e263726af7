// Model bundle detection and the chat pipeline on the tiny Janus checkpoints (official multi_modality
// .bin and the transformers-converted safetensors, both with a byte-level Janus tokenizer):
// - family detection, transformers defaults for absent keys, the unsupported-architecture error;
// - the embeddings-input path against the understanding goldens (spliced SigLIP embeddings in,
//   first logits ≤ 1e-4 relative, 24 greedy tokens exact) — the interface image understanding uses;
// - ChatSession: prefix-cache reuse gives the same reply as a fresh prefill, save/load round trip,
//   context overflow refused without corrupting the conversation, ThinkSplitter on split tags.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "janus/npy.h"
#include "janus/chat.h"
#include "kernels/backend.h"
#include "pipelines/model_bundle.h"
#include "text/sampling.h"

using namespace janus;

namespace {
const std::string kData = JANUS_TEST_DATA;

// Golden arrays through the library's reader (janus::read_npy); integer arrays converted exactly.
std::vector<float> read_npy_f32(const std::string& path, std::vector<int64_t>* shape = nullptr) {
    const Npy a = read_npy(path);
    if (shape) *shape = a.shape;
    return a.to_f32();
}

double rel(const float* a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < b.size(); i++) {
        num = std::max(num, double(std::fabs(a[i] - b[i])));
        den = std::max(den, double(std::fabs(b[i])));
    }
    return num / den;
}
}  // namespace

TEST(ModelBundle, DetectsFamiliesAndAppliesDefaults) {
    ModelFamily fam;
    std::string arch;
    LmConfig lm;
    LmTensorNames names;
    // Janus-Pro-7B's language_config spells out only a few keys (facts §1.2): Llama defaults fill in.
    auto j = nlohmann::json::parse(R"({"architectures": ["MultiModalityCausalLM"], "model_type": "multi_modality",
        "language_config": {"max_position_embeddings": 16384, "model_type": "llama", "num_hidden_layers": 30,
                            "torch_dtype": "bfloat16", "vocab_size": 102400}})");
    detect_family(j, "cfg", &fam, &arch, &lm, &names);
    EXPECT_EQ(fam, ModelFamily::janus);
    EXPECT_EQ(lm.hidden, 4096);
    EXPECT_EQ(lm.intermediate, 11008);
    EXPECT_EQ(lm.heads, 32);
    EXPECT_EQ(lm.kv_heads, 32);
    EXPECT_EQ(lm.head_dim, 128);
    EXPECT_EQ(lm.layers, 30);
    EXPECT_FLOAT_EQ(lm.rms_eps, 1e-6f);
    EXPECT_FALSE(lm.tie_embeddings);
    EXPECT_EQ(names.body, "language_model.model.");
    EXPECT_EQ(names.lm_head, "language_model.lm_head.weight");
    EXPECT_EQ(lm.parameter_count(), 6910365696);  // facts §2.5: the 7B LLM's parameter count
    auto q = nlohmann::json::parse(R"({"architectures": ["Qwen2ForCausalLM"], "hidden_size": 1536,
        "num_attention_heads": 12, "num_key_value_heads": 2, "tie_word_embeddings": true})");
    detect_family(q, "cfg", &fam, &arch, &lm, &names);
    EXPECT_EQ(fam, ModelFamily::qwen2);
    EXPECT_TRUE(lm.qkv_bias);
    EXPECT_EQ(lm.vocab_size, 151936);
    EXPECT_EQ(lm.head_dim, 128);
    auto bad = nlohmann::json::parse(R"({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"})");
    try {
        detect_family(bad, "x/config.json", &fam, &arch, &lm, &names);
        FAIL();
    } catch (const Error& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("GPT2LMHeadModel"), std::string::npos) << m;
        EXPECT_NE(m.find("Qwen2ForCausalLM"), std::string::npos) << m;
        EXPECT_NE(m.find("LlamaForCausalLM"), std::string::npos) << m;
    }
    auto rs = nlohmann::json::parse(R"({"architectures": ["LlamaForCausalLM"], "rope_scaling": {"rope_type": "yarn", "factor": 4}})");
    EXPECT_THROW(detect_family(rs, "cfg", &fam, &arch, &lm, &names), Error);
}

// Spliced embeddings in (the understanding path): official and HF-converted checkpoints agree with
// the PyTorch golden and with each other.
TEST(ModelBundle, EmbeddingsPrefillMatchesUnderstandingGolden) {
    const std::string g = kData + "/golden/tiny-janus/";
    std::vector<int64_t> shape;
    auto embeds = read_npy_f32(g + "f32_understand_one_inputs_embeds.npy", &shape);
    auto first = read_npy_f32(g + "f32_understand_one_first_logits.npy");
    auto tokens = read_npy_f32(g + "f32_understand_one_tokens.npy");
    auto steps = read_npy_f32(g + "f32_understand_one_step_logits.npy");
    std::vector<std::vector<float>> first_logits;
    for (const char* dir : {"tiny-janus", "tiny-janus-hf"}) {
        ModelBundle b = open_model_bundle(kData + "/models/" + dir);
        EXPECT_EQ(b.family, std::string(dir) == "tiny-janus" ? ModelFamily::janus : ModelFamily::janus_hf);
        ASSERT_TRUE(b.tokenizer);
        LmRunOptions o;
        o.dtype = ComputeDType::f32;
        o.rope_exact = true;
        auto m = build_language_model(b, cpu_backend(), o);
        KvCache cache(cpu_backend(), m->config(), 1, 300, DType::f32);
        Tensor e = Tensor::from_f32(embeds, {shape[0], shape[1]});
        SeqChunk c{0, 0, {}, e, OutputRows::last};
        auto out = m->forward({&c, 1}, cache, true);
        EXPECT_LE(rel(out.logits.ptr<float>(), first), 1e-4) << dir;
        first_logits.emplace_back(out.logits.ptr<float>(), out.logits.ptr<float>() + out.logits.numel());
        const int64_t V = m->config().vocab_size;
        for (size_t s = 0; s < tokens.size(); s++) {
            std::vector<float> gl(steps.begin() + int64_t(s) * V, steps.begin() + int64_t(s + 1) * V);
            EXPECT_LE(rel(out.logits.ptr<float>(), gl), 1e-4) << dir << " step " << s;
            int32_t t = argmax(std::span<const float>(out.logits.ptr<float>(), size_t(V)));
            ASSERT_EQ(t, int32_t(tokens[s])) << dir << " step " << s;
            SeqChunk d{0, shape[0] + int64_t(s), std::span<const int32_t>(&t, 1), {}, OutputRows::last};
            out = m->forward({&d, 1}, cache, true);
        }
    }
    EXPECT_EQ(first_logits[0], first_logits[1]);
}

TEST(ChatSession, PrefixReuseSaveLoadAndOverflow) {
    ChatOptions o;
    o.model = kData + "/models/tiny-janus";
    o.max_tokens = 12;
    o.device = "cpu";
    o.ctx = 512;
    auto chat = ChatSession::open(o);
    EXPECT_EQ(chat->format_name(), "janus");
    std::string streamed;
    ReplyStats s1, s2;
    std::string r1 = chat->send("Hello there", [&](const std::string& p) { streamed += p; }, {}, &s1);
    EXPECT_EQ(streamed, r1);
    EXPECT_EQ(s1.cached_tokens, 0);
    EXPECT_GT(s1.generated_tokens, 0);
    std::string r2 = chat->send("And again?", {}, {}, &s2);
    EXPECT_GT(s2.cached_tokens, s1.prompt_tokens / 2) << "second turn should reuse the first turn's KV cache";
    ASSERT_EQ(chat->messages().size(), 4u);  // user, assistant, user, assistant (default system prompt)

    // A fresh session that loads the first turn and prefills everything gives the same second reply.
    const std::string path = (std::filesystem::temp_directory_path() / "janus_chat_test.json").string();
    auto first_turn = chat->messages();
    chat->save(path);
    auto other = ChatSession::open(o);
    other->load(path);
    EXPECT_EQ(other->messages().size(), 4u);
    // Drop the second exchange: rebuild a file holding only the first user/assistant pair.
    nlohmann::json j;
    j["messages"] = nlohmann::json::array();
    for (size_t i = 0; i < 2; i++) j["messages"].push_back({{"role", first_turn[i].role}, {"content", first_turn[i].content}});
    std::ofstream(path) << j.dump();
    other->load(path);
    ReplyStats s3;
    std::string r2b = other->send("And again?", {}, {}, &s3);
    EXPECT_EQ(s3.cached_tokens, 0);
    EXPECT_EQ(r2b, r2);
    std::remove(path.c_str());

    // Overflow: refused with a clear error, conversation unchanged.
    std::string huge(3000, 'x');
    size_t before = chat->messages().size();
    try {
        chat->send(huge, {});
        FAIL() << "expected context overflow";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("context overflow"), std::string::npos) << e.what();
    }
    EXPECT_EQ(chat->messages().size(), before);
    // Stop callback: ends the reply after the first token.
    ReplyStats s4;
    chat->reset();
    EXPECT_EQ(chat->messages().size(), 0u);
    chat->send("Hi", {}, [] { return true; }, &s4);
    EXPECT_EQ(s4.generated_tokens, 1);
    EXPECT_EQ(s4.finish_reason, "cancelled");
    EXPECT_THROW(chat->load("/nonexistent/x.json"), Error);
}

TEST(ThinkSplitter, SplitsTagsAcrossPieces) {
    ThinkSplitter t(true);  // R1 prompts open <think> themselves
    std::vector<ThinkSplitter::Segment> all;
    for (const char* p : {"reason", "ing </th", "ink>\n\nAns", "wer <thi", "nk>more</think>end"}) {
        auto s = t.push(p);
        all.insert(all.end(), s.begin(), s.end());
    }
    auto f = t.finish();
    all.insert(all.end(), f.begin(), f.end());
    std::string thinking, answer;
    for (auto& s : all) (s.thinking ? thinking : answer) += s.text;
    EXPECT_EQ(thinking, "reasoning more");
    EXPECT_EQ(answer, "\n\nAnswer end");
    ThinkSplitter plain;
    auto s = plain.push("a < b <th");  // "<th" may start a tag: held back
    ASSERT_EQ(s.size(), 1u);
    EXPECT_FALSE(s[0].thinking);
    EXPECT_EQ(s[0].text, "a < b ");
    auto rest = plain.finish();
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0].text, "<th");
}
