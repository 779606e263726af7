// `janus bench decode` plumbing on the tiny synthetic shape: the JSON carries every key the issue
// asks for with sane values, and the synthetic checkpoint writer produces a directory that loads
// through the model bundle into exactly the in-memory synthetic model (same logits, bit for bit).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "janus/bench.h"
#include "janus/text.h"
#include "kernels/backend.h"
#include "pipelines/model_bundle.h"
#include "text/synthetic.h"

using namespace janus;

TEST(BenchDecode, TinyRunReportsEveryKey) {
    DecodeBenchOptions o;
    o.synthetic = "tiny";
    o.tokens = 4;
    o.prefill_tokens = 16;
    o.batch = 4;
    DecodeBenchResult r = run_decode_benchmark(o);
    auto j = nlohmann::json::parse(r.to_json());
    for (const char* k : {"prefill_tok_s", "decode_tok_s_b1", "decode_step_ms_b1", "decode_step_ms_b4", "bytes_per_step",
                          "achieved_gbps", "measured_bandwidth_gbps", "bandwidth_fraction", "peak_rss_bytes"}) {
        ASSERT_TRUE(j.contains(k)) << k;
        EXPECT_GT(j[k].get<double>(), 0) << k;
    }
    // bytes per step: all weights but the embedding table (one row of it) + the mean KV context.
    LmConfig c = synthetic_lm_config("tiny");
    double weights = double(c.parameter_count() - c.vocab_size * c.hidden + c.hidden) * 2;
    EXPECT_GT(r.bytes_per_step, weights);
    EXPECT_LT(r.bytes_per_step, weights * 1.5);
    EXPECT_THROW(synthetic_lm_config("gpt-5"), Error);
}

TEST(BenchDecode, WrittenSyntheticCheckpointLoadsIdentically) {
    const std::string dir = (std::filesystem::temp_directory_path() / "janus_synthetic_tiny").string();
    write_synthetic_model("tiny", "bf16", dir, 5);
    ModelBundle b = open_model_bundle(dir, BundleOptions{false, false});
    EXPECT_EQ(b.family, ModelFamily::llama);
    auto from_disk = build_language_model(b, cpu_backend(), {});
    LmConfig c = synthetic_lm_config("tiny");
    LlamaModel in_mem(cpu_backend(), c, synthetic_lm_weights(c, DType::bf16, cpu_backend(), 5, 2), {});
    std::vector<int32_t> toks = {3, 1, 4, 1, 5, 9, 2, 6};
    std::vector<std::vector<float>> logits;
    for (LlamaModel* m : {from_disk.get(), &in_mem}) {
        EXPECT_TRUE(m->bf16());
        KvCache cache(cpu_backend(), c, 1, 16, m->default_kv_dtype());
        SeqChunk s{0, 0, toks, {}, OutputRows::last};
        logits.push_back(m->forward({&s, 1}, cache, true).logits.to_f32_vector());
    }
    EXPECT_EQ(logits[0], logits[1]);
    std::filesystem::remove_all(dir);
}
