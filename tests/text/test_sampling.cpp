// Sampling: the counter RNG (Philox4x32-10 known-answer vectors from Random123), determinism (same
// seed/stream/step → same token; independent of thread count and batch mix), the filters' semantics
// (top-k, top-p, min-p, temperature) checked against exact probabilities, penalties, and stop strings.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "kernels/backend.h"
#include "text/generator.h"
#include "text/rng.h"
#include "text/sampling.h"
#include "tiny_model.h"

using namespace janus;

TEST(CounterRng, PhiloxKnownAnswers) {
    // Random123 kat_vectors, philox4x32 10 rounds.
    auto a = philox::philox4x32({{0, 0, 0, 0}}, {{0, 0}});
    EXPECT_EQ(a.v[0], 0x6627e8d5u);
    EXPECT_EQ(a.v[1], 0xe169c58du);
    EXPECT_EQ(a.v[2], 0xbc57ac4cu);
    EXPECT_EQ(a.v[3], 0x9b00dbd8u);
    auto b = philox::philox4x32({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, {{0xa4093822u, 0x299f31d0u}});
    EXPECT_EQ(b.v[0], 0xd16cfe09u);
    EXPECT_EQ(b.v[1], 0x94fdccebu);
    EXPECT_EQ(b.v[2], 0x5001e420u);
    EXPECT_EQ(b.v[3], 0x24126ea1u);
}

TEST(CounterRng, UniformIsPureAndWellSpread) {
    CounterRng r(123);
    EXPECT_EQ(r.uniform(5, 7), CounterRng(123).uniform(5, 7));
    EXPECT_NE(r.uniform(5, 7), r.uniform(5, 8));
    EXPECT_NE(r.uniform(5, 7), r.uniform(6, 7));
    EXPECT_NE(r.uniform(5, 7), CounterRng(124).uniform(5, 7));
    double sum = 0;
    int bins[10] = {};
    const int N = 100000;
    for (int i = 0; i < N; i++) {
        double u = r.uniform(1, uint64_t(i));
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
        sum += u;
        bins[int(u * 10)]++;
    }
    EXPECT_NEAR(sum / N, 0.5, 0.005);
    for (int b : bins) EXPECT_NEAR(b, N / 10, 5 * std::sqrt(N * 0.1 * 0.9));  // 5 sigma
}

namespace {
std::vector<float> logits4() { return {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)}; }
std::map<int, int> histogram(const SamplingParams& p, int n, std::vector<float> base = logits4()) {
    std::map<int, int> h;
    TokenHistory none;
    for (int s = 0; s < n; s++) {
        auto l = base;
        h[sample_token(l, p, none, 3, uint64_t(s))]++;
    }
    return h;
}
}  // namespace

TEST(Sampling, TemperatureOneFollowsSoftmax) {
    SamplingParams p;
    p.temperature = 1.0f;
    p.seed = 9;
    const int N = 40000;
    auto h = histogram(p, N);
    const double prob[4] = {0.5, 0.3, 0.15, 0.05};
    for (int i = 0; i < 4; i++) EXPECT_NEAR(h[i], N * prob[i], 5 * std::sqrt(N * prob[i] * (1 - prob[i]))) << i;
    // Temperature 0.5 squares the odds: p ∝ p_i².
    p.temperature = 0.5f;
    h = histogram(p, N);
    double z = 0.25 + 0.09 + 0.0225 + 0.0025;
    const double p2[4] = {0.25 / z, 0.09 / z, 0.0225 / z, 0.0025 / z};
    for (int i = 0; i < 4; i++) EXPECT_NEAR(h[i], N * p2[i], 5 * std::sqrt(N * p2[i] * (1 - p2[i]))) << i;
}

TEST(Sampling, FiltersKeepTheRightSets) {
    SamplingParams p;
    p.temperature = 1.0f;
    p.top_k = 2;
    auto h = histogram(p, 5000);
    EXPECT_EQ(h.size(), 2u);
    EXPECT_NEAR(h[0], 5000 * 0.5 / 0.8, 5 * std::sqrt(5000 * 0.625 * 0.375));
    p.top_k = 0;
    p.top_p = 0.7f;  // 0.5 < 0.7 <= 0.8 → {0, 1}
    h = histogram(p, 5000);
    EXPECT_EQ(h.size(), 2u);
    p.top_p = 0.81f;  // → {0, 1, 2}
    h = histogram(p, 5000);
    EXPECT_EQ(h.size(), 3u);
    p.top_p = 1.0f;
    p.min_p = 0.35f;  // keep p >= 0.175 → {0, 1}
    h = histogram(p, 5000);
    EXPECT_EQ(h.size(), 2u);
    p.min_p = 0.09f;  // keep p >= 0.045 → all 4
    h = histogram(p, 20000);
    EXPECT_EQ(h.size(), 4u);
}

TEST(Sampling, GreedyAndTies) {
    SamplingParams p;  // temperature 0 = greedy
    TokenHistory none;
    std::vector<float> l = {1, 3, 3, 2};
    EXPECT_EQ(sample_token(l, p, none, 0, 0), 1);
    std::vector<float> n = {NAN, -1, -2};
    EXPECT_EQ(argmax(n), 1);
    p.temperature = 1.0f;
    p.top_k = 1;
    l = {1, 3, 3, 2};
    EXPECT_EQ(sample_token(l, p, none, 0, 0), 1);
}

TEST(Sampling, Penalties) {
    SamplingParams p;
    p.repetition_penalty = 2.0f;
    p.presence_penalty = 0.5f;
    p.frequency_penalty = 0.25f;
    TokenHistory h;
    std::vector<int32_t> prompt = {0, 1};
    h.add_prompt(prompt);  // prompt: repetition only
    h.add_generated(2);
    h.add_generated(2);
    std::vector<float> l = {4, -4, 3, 1};
    apply_penalties(l, p, h);
    EXPECT_FLOAT_EQ(l[0], 2.0f);                     // 4 / 2
    EXPECT_FLOAT_EQ(l[1], -8.0f);                    // −4 · 2
    EXPECT_FLOAT_EQ(l[2], 1.5f - 0.5f - 0.25f * 2);  // 3/2 − presence − 2·frequency
    EXPECT_FLOAT_EQ(l[3], 1.0f);
}

TEST(Sampling, ValidateRejectsNonsense) {
    SamplingParams p;
    p.top_p = 0;
    EXPECT_THROW(p.validate(), Error);
    p = {};
    p.temperature = -1;
    EXPECT_THROW(p.validate(), Error);
    p = {};
    p.repetition_penalty = 0;
    EXPECT_THROW(p.validate(), Error);
    p = {};
    p.min_p = 2;
    EXPECT_THROW(p.validate(), Error);
    EXPECT_NO_THROW(SamplingParams().validate());
}

TEST(StopStrings, HoldsBackPrefixesAndStopsAcrossPieces) {
    StopStringMatcher m({"</s>", "User:"});
    EXPECT_EQ(m.push("Hello <"), "Hello ");
    EXPECT_EQ(m.push("b> and </"), "<b> and ");
    EXPECT_FALSE(m.stopped());
    EXPECT_EQ(m.push("s> tail"), "");
    EXPECT_TRUE(m.stopped());
    EXPECT_EQ(m.matched(), "</s>");
    EXPECT_EQ(m.push("more"), "");
    StopStringMatcher n({"User:"});
    EXPECT_EQ(n.push("a Use"), "a ");
    EXPECT_EQ(n.finish(), "Use");
    StopStringMatcher none;
    EXPECT_EQ(none.push("x"), "x");
}

// Same seed → same tokens for any thread count (kernels partition outputs; sampling is per row).
TEST(Sampling, SameTokensForAnyThreadCount) {
    using namespace janus::testing;
    auto cfg = tiny_config(2);
    auto ck = make_tiny_checkpoint(cfg, DType::bf16, 3);
    std::vector<std::vector<int32_t>> runs;
    for (int threads : {1, 2, 3}) {
        set_cpu_threads(threads);
        Backend& be = cpu_backend();
        ASSERT_EQ(be.threads(), threads);
        LmWeights w = load_lm_weights(cfg, [&ck](const std::string& n) { return ck.find(n); }, LmTensorNames{}, be, "t");
        LlamaModel m(be, cfg, std::move(w), {});
        KvCache cache(be, cfg, 2, 64, m.default_kv_dtype());
        Generator g(m, cache);
        for (int r = 0; r < 2; r++) {
            GenerationRequest q;
            q.prompt = {1, 2, 3, int32_t(4 + r)};
            q.max_tokens = 20;
            q.sampling.temperature = 1.0f;
            q.sampling.top_p = 0.9f;
            q.sampling.seed = 77;
            q.stream = uint64_t(r);
            g.add(q);
        }
        auto out = g.run_all();
        runs.push_back(out[0]);
        runs.back().insert(runs.back().end(), out[1].begin(), out[1].end());
    }
    set_cpu_threads(0);
    EXPECT_EQ(runs[0], runs[1]);
    EXPECT_EQ(runs[0], runs[2]);
}
