// Philox4x32-10 counter-based RNG (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11; the Random123 algorithm), usable from plain C++ and from CUDA device code, so that a seed
// means the same thing on the CPU and the GPU.
//
// Convention for sampling (used by the CPU and CUDA samplers alike):
//   key     = { seed & 0xffffffff, seed >> 32 }                         (64-bit user seed)
//   counter = { step & 0xffffffff, step >> 32, row, lane }
//     step: the decode step (token index within the generation, 0-based),
//     row:  the sequence/image row being sampled (0-based, after CFG combining),
//     lane: which draw within (step, row) — 0 for the one uniform a categorical sample needs.
//   uniform = (word0 >> 8) · 2⁻²⁴, a float in [0, 1) with 24 random bits (exact in f32).
// Every (seed, step, row) gives one independent uniform; nothing is carried from step to step, so a
// generation can be resumed or split across devices and still draw the same numbers.
//
// The header needs no CUDA: when compiled by nvcc the functions are __host__ __device__.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define JANUS_HD __host__ __device__ __forceinline__
#else
#define JANUS_HD inline
#endif

namespace janus::philox {

struct U32x4 {
    uint32_t v[4];
};
struct U32x2 {
    uint32_t v[2];
};

constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl key increments

JANUS_HD void mulhilo(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
    uint64_t p = uint64_t(a) * uint64_t(b);
    *hi = uint32_t(p >> 32);
    *lo = uint32_t(p);
}

// One Philox round: two 32×32→64 multiplies, xor with the other words and the key, word shuffle.
JANUS_HD U32x4 philox_round(U32x4 c, U32x2 k) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kM0, c.v[0], &hi0, &lo0);
    mulhilo(kM1, c.v[2], &hi1, &lo1);
    U32x4 r;
    r.v[0] = hi1 ^ c.v[1] ^ k.v[0];
    r.v[1] = lo1;
    r.v[2] = hi0 ^ c.v[3] ^ k.v[1];
    r.v[3] = lo0;
    return r;
}

// Philox4x32 with `rounds` rounds (10 is the standard, crush-resistant choice); the key is bumped by
// the Weyl constants before every round after the first.
JANUS_HD U32x4 philox4x32(U32x4 counter, U32x2 key, int rounds = 10) {
    for (int r = 0; r < rounds; r++) {
        if (r > 0) {
            key.v[0] += kW0;
            key.v[1] += kW1;
        }
        counter = philox_round(counter, key);
    }
    return counter;
}

// 24 random bits → float in [0, 1).
JANUS_HD float u32_to_uniform(uint32_t x) { return float(x >> 8) * (1.0f / 16777216.0f); }

// The sampling uniform for (seed, step, row, lane) under the convention above.
JANUS_HD float sample_uniform(uint64_t seed, uint64_t step, uint32_t row, uint32_t lane = 0) {
    U32x4 c{{uint32_t(step), uint32_t(step >> 32), row, lane}};
    U32x2 k{{uint32_t(seed), uint32_t(seed >> 32)}};
    return u32_to_uniform(philox4x32(c, k).v[0]);
}

}  // namespace janus::philox

#undef JANUS_HD
