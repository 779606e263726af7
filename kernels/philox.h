// Philox4x32-10 counter-based RNG (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11; the Random123 algorithm), usable from plain C++ and from CUDA device code, so that a seed
// means the same thing on the CPU and the GPU.
//
// Convention for sampling (text/rng.h's CounterRng on the CPU and the CUDA sampler alike):
//   key     = { seed & 0xffffffff, seed >> 32 }                         (64-bit user seed)
//   counter = { step & 0xffffffff, step >> 32, stream & 0xffffffff, stream >> 32 }
//     step:   index of the token being generated within its sequence (0-based),
//     stream: which sequence (request id, or image row after CFG combining).
//   uniform = ((word0 << 21) | (word1 >> 11)) · 2⁻⁵³, a double in [0, 1) with 53 random bits.
// Every (seed, stream, step) gives one independent uniform; nothing is carried from step to step, so
// a generation can be resumed, re-batched or split across devices and still draw the same numbers.
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

// 53 random bits from two words → double in [0, 1).
JANUS_HD double u32x2_to_uniform53(uint32_t w0, uint32_t w1) {
    uint64_t x = (uint64_t(w0) << 21) | (uint64_t(w1) >> 11);
    return double(x) * (1.0 / 9007199254740992.0);
}

// The sampling uniform for (seed, stream, step) under the convention above.
JANUS_HD double sample_uniform(uint64_t seed, uint64_t stream, uint64_t step) {
    U32x4 c{{uint32_t(step), uint32_t(step >> 32), uint32_t(stream), uint32_t(stream >> 32)}};
    U32x2 k{{uint32_t(seed), uint32_t(seed >> 32)}};
    U32x4 w = philox4x32(c, k);
    return u32x2_to_uniform53(w.v[0], w.v[1]);
}

}  // namespace janus::philox

#undef JANUS_HD
