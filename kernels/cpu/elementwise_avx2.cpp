// AVX2+FMA elementwise kernels (see elementwise_kernels.h) using simd_math_avx2.h; tails use
// maskload/maskstore so every element goes through the same vector code.
#include "kernels/cpu/elementwise_kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma")
#ifdef __clang__  // clang ignores GCC target pragmas: same features per function
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#endif

#include "kernels/cpu/simd_math_avx2.h"

namespace janus::cpu {

namespace {

void silu_avx2(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i += 8) {
        __m256i m = tail_mask8(n - i);
        _mm256_maskstore_ps(y + i, m, silu8(_mm256_maskload_ps(x + i, m)));
    }
}

void gelu_avx2(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i += 8) {
        __m256i m = tail_mask8(n - i);
        _mm256_maskstore_ps(y + i, m, gelu8(_mm256_maskload_ps(x + i, m)));
    }
}

void swiglu_avx2(const float* g, const float* u, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i += 8) {
        __m256i m = tail_mask8(n - i);
        __m256 s = silu8(_mm256_maskload_ps(g + i, m));
        _mm256_maskstore_ps(y + i, m, _mm256_mul_ps(s, _mm256_maskload_ps(u + i, m)));
    }
}

void affine_avx2(const float* x, float* y, int64_t n, float mean, float a, float b, bool swish) {
    const __m256 vm = _mm256_set1_ps(mean), va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    for (int64_t i = 0; i < n; i += 8) {
        __m256i m = tail_mask8(n - i);
        __m256 o = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vm), va, vb);
        if (swish) o = silu8(o);
        _mm256_maskstore_ps(y + i, m, o);
    }
}

const ElementwiseKernels kAvx2{silu_avx2, gelu_avx2, swiglu_avx2, affine_avx2};

}  // namespace

const ElementwiseKernels* elementwise_kernels_avx2() { return &kAvx2; }

}  // namespace janus::cpu

#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
