// AVX2+FMA attention row kernel (see attention_kernels.h), the AVX-512 design on 8 lanes: scores four
// keys at a time, each reduced with one fixed tree; softmax with exp8 and lane-wise f32 sums; then
// out = Σ_j p_j·v_j / Σ p. k/v rows in f32/bf16/f16 are converted on load; head-dim tails use
// maskload for f32 and a zero-padded copy for 16-bit types. Compiled with a target pragma and reached
// only through attention_dispatch.cpp; internal linkage only.
#include "kernels/cpu/attention_kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#ifdef __clang__  // clang ignores GCC target pragmas: same features per function
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#endif

#include "kernels/cpu/simd_math_avx2.h"

namespace janus::cpu {

namespace {

#include "kernels/cpu/attention_simd_avx2.h"

template <DType KT, DType VT>
void row_kernel(const AttentionArgs& a, int64_t i, int64_t h, float* scratch) {
    const int64_t Dh = a.Dh, limit = a.causal_start < 0 ? a.Tk : a.causal_start + i + 1;
    const int64_t hk = h / (a.H / a.Hkv), kstride = a.Hkv * Dh, kbase = hk * Dh;
    const float* q = a.q + (i * a.H + h) * Dh;
    float* scores = scratch;
    float* acc = scratch + a.Tk;

    int64_t j = 0;
    for (; j + 4 <= limit; j += 4) {
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (int64_t d = 0; d < Dh; d += 8) {
            __m256i m = tail_mask8(Dh - d);
            __m256 qv = _mm256_maskload_ps(q + d, m);
            s0 = _mm256_fmadd_ps(qv, load8<KT>(a.k, (j + 0) * kstride + kbase + d, Dh - d, m), s0);
            s1 = _mm256_fmadd_ps(qv, load8<KT>(a.k, (j + 1) * kstride + kbase + d, Dh - d, m), s1);
            s2 = _mm256_fmadd_ps(qv, load8<KT>(a.k, (j + 2) * kstride + kbase + d, Dh - d, m), s2);
            s3 = _mm256_fmadd_ps(qv, load8<KT>(a.k, (j + 3) * kstride + kbase + d, Dh - d, m), s3);
        }
        scores[j + 0] = reduce8(s0) * a.scale;
        scores[j + 1] = reduce8(s1) * a.scale;
        scores[j + 2] = reduce8(s2) * a.scale;
        scores[j + 3] = reduce8(s3) * a.scale;
    }
    for (; j < limit; j++) {
        __m256 s0 = _mm256_setzero_ps();
        for (int64_t d = 0; d < Dh; d += 8) {
            __m256i m = tail_mask8(Dh - d);
            s0 = _mm256_fmadd_ps(_mm256_maskload_ps(q + d, m), load8<KT>(a.k, j * kstride + kbase + d, Dh - d, m), s0);
        }
        scores[j] = reduce8(s0) * a.scale;
    }
    float mx = scores[0];
    for (j = 1; j < limit; j++) mx = scores[j] > mx ? scores[j] : mx;

    const __m256 vmx = _mm256_set1_ps(mx);
    __m256 vsum = _mm256_setzero_ps();
    for (j = 0; j < limit; j += 8) {
        __m256i m = tail_mask8(limit - j);
        __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(scores + j, m), vmx));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(scores + j, m, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    const float inv = 1.0f / reduce8(vsum);

    for (int64_t d = 0; d < Dh; d += 8) _mm256_maskstore_ps(acc + d, tail_mask8(Dh - d), _mm256_setzero_ps());
    for (j = 0; j < limit; j++) {
        const __m256 pv = _mm256_set1_ps(scores[j]);
        for (int64_t d = 0; d < Dh; d += 8) {
            __m256i m = tail_mask8(Dh - d);
            __m256 cur = _mm256_maskload_ps(acc + d, m);
            _mm256_maskstore_ps(acc + d, m,
                                _mm256_fmadd_ps(pv, load8<VT>(a.v, j * kstride + kbase + d, Dh - d, m), cur));
        }
    }
    float* o = a.out + (i * a.H + h) * Dh;
    const __m256 iv = _mm256_set1_ps(inv);
    for (int64_t d = 0; d < Dh; d += 8) {
        __m256i m = tail_mask8(Dh - d);
        _mm256_maskstore_ps(o + d, m, _mm256_mul_ps(_mm256_maskload_ps(acc + d, m), iv));
    }
}

template <DType KT>
AttentionRowFn pick_v(DType vt) {
    switch (vt) {
        case DType::f32: return row_kernel<KT, DType::f32>;
        case DType::bf16: return row_kernel<KT, DType::bf16>;
        case DType::f16: return row_kernel<KT, DType::f16>;
        default: return nullptr;
    }
}

}  // namespace

AttentionRowFn attention_row_kernel_avx2(DType kt, DType vt) {
    switch (kt) {
        case DType::f32: return pick_v<DType::f32>(vt);
        case DType::bf16: return pick_v<DType::bf16>(vt);
        case DType::f16: return pick_v<DType::f16>(vt);
        default: return nullptr;
    }
}

}  // namespace janus::cpu

#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
