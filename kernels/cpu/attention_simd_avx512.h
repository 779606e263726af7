// AVX-512 helpers shared by the attention kernels (attention_avx512.cpp: group kernel;
// attention_decode_avx512.cpp: split-key decode kernel): load16<T> widens 16 masked f32/bf16/f16
// elements to a zmm of f32, chunk_mask masks the head-dim tail of a Dh-wide row walked 16 lanes at a
// time. Include only inside a translation unit's AVX-512 target-pragma region, inside an anonymous
// namespace, after simd_math_avx512.h (reduce16).
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

inline __mmask16 chunk_mask(int64_t d, int64_t Dh) {
    int64_t r = Dh - d;
    return r >= 16 ? __mmask16(0xffff) : __mmask16((1u << r) - 1);
}
