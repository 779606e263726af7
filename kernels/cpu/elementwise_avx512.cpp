// AVX-512 elementwise kernels (see elementwise_kernels.h): silu, exact-erf gelu, swiglu and
// group_norm's affine(+swish) pass, using simd_math_avx512.h; tails are masked.
#include "kernels/cpu/elementwise_kernels.h"

#pragma GCC push_options
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 false positives in masked intrinsics
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma")
#ifdef __clang__  // clang ignores GCC target pragmas: same features per function
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))), apply_to = function)
#endif

#include "kernels/cpu/simd_math_avx512.h"

namespace janus::cpu {

namespace {

void silu_avx512(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask16(n - i);
        _mm512_mask_storeu_ps(y + i, m, silu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

void gelu_avx512(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask16(n - i);
        _mm512_mask_storeu_ps(y + i, m, gelu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

void swiglu_avx512(const float* g, const float* u, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask16(n - i);
        __m512 s = silu16(_mm512_maskz_loadu_ps(m, g + i));
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, u + i)));
    }
}

void affine_avx512(const float* x, float* y, int64_t n, float mean, float a, float b, bool swish) {
    const __m512 vm = _mm512_set1_ps(mean), va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask16(n - i);
        __m512 o = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vm), va, vb);
        if (swish) o = silu16(o);
        _mm512_mask_storeu_ps(y + i, m, o);
    }
}

const ElementwiseKernels kAvx512{silu_avx512, gelu_avx512, swiglu_avx512, affine_avx512};

}  // namespace

const ElementwiseKernels* elementwise_kernels_avx512() { return &kAvx512; }

}  // namespace janus::cpu

#pragma GCC diagnostic pop
#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
