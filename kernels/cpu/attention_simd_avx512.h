// AVX-512 helpers shared by the attention kernels (attention_avx512.cpp: group kernel;
// attention_decode_avx512.cpp: split-key decode kernel): load16<T> widens 16 masked f32/bf16/f16
// elements to a zmm of f32, reduce16 sums a zmm with one fixed tree, chunk_mask masks the head-dim
// tail of a Dh-wide row walked 16 lanes at a time. Include only inside a translation unit's AVX-512
// target-pragma region, inside an anonymous namespace.
#pragma once

template <DType T>
inline __m512 load16(const void* base, int64_t off, __mmask16 m) {
    if constexpr (T == DType::f32) {
        return _mm512_maskz_loadu_ps(m, static_cast<const float*>(base) + off);
    } else {
        __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(base) + off);
        if constexpr (T == DType::bf16) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
        else return _mm512_cvtph_ps(h);
    }
}

inline float reduce16(__m512 v) {
    __m256 lo = _mm512_castps512_ps256(v);
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    __m256 s8 = _mm256_add_ps(lo, hi);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_movehdup_ps(s2));
    return _mm_cvtss_f32(s1);
}

inline __mmask16 chunk_mask(int64_t d, int64_t Dh) {
    int64_t r = Dh - d;
    return r >= 16 ? __mmask16(0xffff) : __mmask16((1u << r) - 1);
}
