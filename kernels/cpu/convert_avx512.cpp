// AVX-512 bulk conversions (see convert_kernels.h). f32 -> bf16 uses the integer rounding of
// kernels/dtype.h (u + 0x7fff + lsb, NaN -> quiet) rather than vcvtneps2bf16, which flushes
// subnormals; f16 uses vcvtps2ph / vcvtph2ps (IEEE, round-to-nearest-even, subnormals kept).
#include "kernels/cpu/convert_kernels.h"

#pragma GCC push_options
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 false positives in masked intrinsics
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,f16c")
#ifdef __clang__  // clang ignores GCC target pragmas: same features per function
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,f16c"))), apply_to = function)
#endif

#include <immintrin.h>

namespace janus::cpu {

namespace {

inline __mmask16 mask16(int64_t r) { return r >= 16 ? __mmask16(0xffff) : __mmask16((1u << r) - 1); }

// 16 f32 -> 16 bf16 bit patterns (in the low halves of 32-bit lanes)
inline __m512i bf16_bits(__m512i u) {
    const __m512i abs = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(abs, _mm512_set1_epi32(0x7f800000));
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    r = _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x00400000));
    return _mm512_srli_epi32(r, 16);
}

void f32_to_bf16_avx512(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = mask16(n - i);
        __m512i u = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, x + i));
        _mm256_mask_storeu_epi16(y + i, m, _mm512_cvtepi32_epi16(bf16_bits(u)));
    }
}

void round_bf16_avx512(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = mask16(n - i);
        __m512i u = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, x + i));
        _mm512_mask_storeu_ps(y + i, m, _mm512_castsi512_ps(_mm512_slli_epi32(bf16_bits(u), 16)));
    }
}

void f32_to_f16_avx512(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = mask16(n - i);
        __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_mask_storeu_epi16(y + i, m, h);
    }
}

void bf16_to_f32_avx512(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = mask16(n - i);
        __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, x + i));
        _mm512_mask_storeu_ps(y + i, m, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
}

void f16_to_f32_avx512(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = mask16(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)));
    }
}

const ConvertKernels kAvx512{f32_to_bf16_avx512, f32_to_f16_avx512, bf16_to_f32_avx512, f16_to_f32_avx512,
                             round_bf16_avx512};

}  // namespace

const ConvertKernels* convert_kernels_avx512() { return &kAvx512; }

}  // namespace janus::cpu

#pragma GCC diagnostic pop
#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
