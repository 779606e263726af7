// AVX2 helpers shared by the attention kernels (attention_avx2.cpp: row kernel; attention_decode_avx2.cpp:
// split-key decode kernel): load8<T> widens 8 f32/bf16/f16 elements to a ymm of f32 (f32 tails by
// maskload, 16-bit tails through a zero-padded copy). Include only inside a translation unit's AVX2
// target-pragma region, inside an anonymous namespace, after simd_math_avx2.h (reduce8).
#pragma once

template <DType T>
inline __m256 load8(const void* base, int64_t off, int64_t remaining, __m256i mask) {
    if constexpr (T == DType::f32) {
        return _mm256_maskload_ps(static_cast<const float*>(base) + off, mask);
    } else {
        const uint16_t* src = static_cast<const uint16_t*>(base) + off;
        __m128i h;
        if (remaining >= 8) {
            h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
        } else {
            alignas(16) uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            for (int64_t i = 0; i < remaining; i++) tmp[i] = src[i];
            h = _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
        }
        if constexpr (T == DType::bf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        else return _mm256_cvtph_ps(h);
    }
}
