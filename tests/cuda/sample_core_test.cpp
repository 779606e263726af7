// The CUDA sampler's algorithm (kernels/cuda/sample_core.h: rank keys + 64-bit threshold searches,
// no sort), run on the host with the sequential executor, against the CPU sampler
// (text/sampling.cpp: sample_token) on random rows with ties, −inf and NaN entries and every
// combination of temperature / top-k / min-p / top-p. CPU only: runs in every build, so the logic
// the GPU kernel executes is checked even where no GPU is present (the kernel adds only the block
// reductions, checked by tests/cuda/cuda_backend_test.cpp on a device).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cuda/sample_core.h"
#include "kernels/philox.h"
#include "text/sampling.h"

using namespace janus;

namespace {
int32_t core_sample(const std::vector<float>& x, const SamplingParams& sp, uint64_t stream, uint64_t step) {
    sample_core::Params p;
    p.greedy = sp.greedy();
    p.inv_temp = p.greedy ? 1.0f : 1.0f / sp.temperature;
    p.top_k = sp.top_k;
    p.top_p = sp.top_p;
    p.min_p = sp.min_p;
    p.uniform = philox::sample_uniform(sp.seed, stream, step);
    std::vector<double> e(x.size());
    sample_core::HostExec ex{int64_t(x.size())};
    return sample_core::sample_row(ex, x.data(), e.data(), p);
}
}  // namespace

TEST(SampleCore, RankKeyOrdersLikeTheCpuSort) {
    using sample_core::rank_key;
    EXPECT_LT(rank_key(-INFINITY, 0), rank_key(-1e30f, 0));
    EXPECT_LT(rank_key(-1.0f, 0), rank_key(-0.5f, 0));
    EXPECT_LT(rank_key(-0.0f, 0), rank_key(1e-30f, 0));
    EXPECT_LT(rank_key(2.0f, 0), rank_key(INFINITY, 0));
    EXPECT_GT(rank_key(3.0f, 4), rank_key(3.0f, 5));  // equal logits: lower id first
    EXPECT_EQ(sample_core::id_of(rank_key(7.5f, 12345)), 12345);
}

TEST(SampleCore, MatchesSampleTokenOnRandomRows) {
    std::mt19937 rng(99);
    std::normal_distribution<float> nd(0.0f, 2.5f);
    struct Cfg {
        float t;
        int k;
        float tp, mp;
    };
    const Cfg cfgs[] = {{0.0f, 0, 1.0f, 0.0f}, {1.0f, 0, 1.0f, 0.0f},  {0.7f, 5, 1.0f, 0.0f},   {1.0f, 0, 0.9f, 0.0f},
                        {1.3f, 40, 0.5f, 0.0f}, {1.0f, 0, 1.0f, 0.1f}, {0.9f, 20, 0.8f, 0.05f}, {1.0f, 1, 1.0f, 0.0f},
                        {2.0f, 0, 0.3f, 0.0f},  {0.5f, 3, 1.0f, 0.0f}, {1.0f, 1000, 0.99f, 0.0f}};
    int mismatches = 0, draws = 0;
    for (int trial = 0; trial < 36; trial++) {
        int64_t V = trial % 3 == 0 ? 7 : trial % 3 == 1 ? 300 : 4099;
        std::vector<float> x(static_cast<size_t>(V));
        for (auto& v : x) v = nd(rng);
        if (trial % 4 == 1)  // coarse values: many exact ties
            for (auto& v : x) v = std::round(v);
        if (trial % 5 == 2) {  // masked entries and a NaN
            x[size_t(V / 2)] = -INFINITY;
            x[size_t(V / 3)] = -INFINITY;
            x[size_t(V - 1)] = NAN;
        }
        for (const Cfg& c : cfgs) {
            SamplingParams sp;
            sp.temperature = c.t;
            sp.top_k = c.k;
            sp.top_p = c.tp;
            sp.min_p = c.mp;
            sp.seed = uint64_t(trial) * 7919u + 1;
            for (uint64_t step = 0; step < 8; step++, draws++) {
                std::vector<float> row = x;  // sample_token may modify its input
                int32_t want = sample_token(row, sp, TokenHistory(), uint64_t(trial), step);
                int32_t got = core_sample(x, sp, uint64_t(trial), step);
                if (got != want) {
                    mismatches++;
                    ADD_FAILURE() << "trial " << trial << " V " << V << " t " << c.t << " k " << c.k << " top_p "
                                  << c.tp << " min_p " << c.mp << " step " << step << ": got " << got << ", want "
                                  << want;
                    if (mismatches > 5) return;
                }
            }
        }
    }
    EXPECT_EQ(mismatches, 0) << "of " << draws;
}

TEST(SampleCore, DegenerateRows) {
    SamplingParams sp;
    sp.temperature = 1.0f;
    // All −inf: the CPU falls back to argmax (first non-NaN entry).
    std::vector<float> x = {NAN, -INFINITY, -INFINITY};
    std::vector<float> r = x;
    EXPECT_EQ(core_sample(x, sp, 0, 0), sample_token(r, sp, TokenHistory(), 0, 0));
    // All NaN: token 0.
    x = {NAN, NAN};
    EXPECT_EQ(core_sample(x, sp, 0, 0), 0);
    // One candidate.
    x = {-INFINITY, 3.0f, -INFINITY};
    EXPECT_EQ(core_sample(x, sp, 0, 0), 1);
}

// −0 and +0 are equal logits to the CPU sampler (ties go to the lower id); the rank key must agree.
TEST(SampleCore, SignedZerosTieLikeTheCpu) {
    EXPECT_EQ(sample_core::order_key(-0.0f), sample_core::order_key(0.0f));
    EXPECT_GT(sample_core::rank_key(-0.0f, 2), sample_core::rank_key(0.0f, 3));  // lower id first
    SamplingParams greedy;
    greedy.temperature = 0.0f;
    std::vector<float> x = {-1.0f, -0.0f, 0.0f, -0.0f, -3.0f};
    std::vector<float> r = x;
    EXPECT_EQ(core_sample(x, greedy, 0, 0), 1);
    EXPECT_EQ(sample_token(r, greedy, TokenHistory(), 0, 0), 1);
    // Sampled: every cut (top-k in the middle of the zeros, top-p, min-p) and draw must agree.
    std::mt19937 rng(5);
    int draws = 0;
    for (int trial = 0; trial < 20; trial++) {
        std::vector<float> row(64);
        for (auto& v : row) v = (rng() & 1) ? -0.0f : 0.0f;
        for (int i = 0; i < 8; i++) row[size_t(rng() % 64)] = -float(rng() % 4);
        for (int k : {0, 1, 3, 17}) {
            SamplingParams sp;
            sp.temperature = 1.0f;
            sp.top_k = k;
            sp.top_p = trial % 2 ? 0.6f : 1.0f;
            sp.min_p = trial % 3 == 0 ? 0.5f : 0.0f;
            sp.seed = uint64_t(trial) + 1;
            for (uint64_t step = 0; step < 4; step++, draws++) {
                std::vector<float> cpu_row = row;
                ASSERT_EQ(core_sample(row, sp, 1, step), sample_token(cpu_row, sp, TokenHistory(), 1, step))
                    << "trial " << trial << " top_k " << k << " step " << step;
            }
        }
    }
    EXPECT_EQ(draws, 320);
}
