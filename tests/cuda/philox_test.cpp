// Philox4x32 (kernels/philox.h) against the published Random123 known-answer vectors (kat_vectors:
// "philox4x32 R ctr[4] key[2] -> out[4]"), plus the sampling-uniform convention. CPU only: runs in
// every build, so the counter/key convention the CUDA sampler shares is always checked.
#include <gtest/gtest.h>

#include <set>

#include "kernels/philox.h"
#include "text/rng.h"

using janus::philox::philox4x32;
using janus::philox::U32x2;
using janus::philox::U32x4;

namespace {
struct Kat {
    int rounds;
    U32x4 ctr;
    U32x2 key;
    U32x4 want;
};

const Kat kKats[] = {
    {10, {{0, 0, 0, 0}}, {{0, 0}}, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
    {10,
     {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
     {{0xffffffff, 0xffffffff}},
     {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
    {10,
     {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
     {{0xa4093822, 0x299f31d0}},
     {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
    // The 7-round vector checks that the round count is honoured (not hard-wired to 10).
    {7,
     {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
     {{0xa4093822, 0x299f31d0}},
     {{0x4dfccaba, 0x190a87f0, 0xc47362ba, 0xb6b5242a}}},
};
}  // namespace

TEST(Philox, Random123KnownAnswers) {
    for (const Kat& k : kKats) {
        U32x4 got = philox4x32(k.ctr, k.key, k.rounds);
        for (int i = 0; i < 4; i++)
            EXPECT_EQ(got.v[i], k.want.v[i]) << "rounds " << k.rounds << " word " << i << " ctr[0] " << std::hex
                                             << k.ctr.v[0];
    }
}

TEST(Philox, SampleUniformFollowsTheConvention) {
    // key = {seed lo, seed hi}; counter = {step lo, step hi, stream lo, stream hi};
    // uniform = ((word0 << 21) | (word1 >> 11)) / 2^53.
    uint64_t seed = 0x299f31d0a4093822ull, step = 0x85a308d3243f6a88ull, stream = 0x0370734413198a2eull;
    double u = janus::philox::sample_uniform(seed, stream, step);
    uint64_t bits = (uint64_t(0xd16cfe09u) << 21) | (uint64_t(0x94fdccebu) >> 11);
    EXPECT_EQ(u, double(bits) / 9007199254740992.0);
    // Range and distinctness over a grid of (stream, step).
    std::set<double> seen;
    for (uint64_t s = 0; s < 64; s++)
        for (uint64_t r = 0; r < 32; r++) {
            double v = janus::philox::sample_uniform(42, r, s);
            EXPECT_GE(v, 0.0);
            EXPECT_LT(v, 1.0);
            seen.insert(v);
        }
    EXPECT_EQ(seen.size(), 2048u);
    EXPECT_NE(janus::philox::sample_uniform(1, 0, 0), janus::philox::sample_uniform(2, 0, 0));
}

TEST(Philox, SamplerUniformIsTheCpuCounterRng) {
    // The GPU sampler draws philox::sample_uniform; the CPU sampler (text/sampling.cpp) draws
    // CounterRng::uniform. They must be the same function of (seed, stream, step).
    for (uint64_t seed : {0ull, 1ull, 0xdeadbeefcafef00dull})
        for (uint64_t stream : {0ull, 7ull, 1ull << 40})
            for (uint64_t step : {0ull, 575ull, 1ull << 33})
                EXPECT_EQ(janus::philox::sample_uniform(seed, stream, step), janus::CounterRng(seed).uniform(stream, step));
}
