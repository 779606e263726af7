// AVX-512 attention group kernel (see attention_kernels.h): for query i and the query heads of a
// range of kv heads, scores s_j = (q·k_j)·scale for the visible keys j < limit, four keys at a time,
// each key reduced with one fixed tree; softmax with the vector exp of simd_math_avx512.h and
// lane-wise f32 sums; then out = Σ_j p_j·v_j / Σ p with Dh-wide accumulators in zmm-sized chunks. k/v rows are f32, bf16 or f16 and converted on
// load; head-dim tails use masked loads. Compiled with a target pragma and reached only through
// attention_dispatch.cpp's cpuid check; uses no inline functions from library headers.
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/attention_kernels.h"

#pragma GCC push_options
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 false positives inside _mm512_cvtepu16_epi32
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")
#ifdef __clang__  // clang ignores GCC target pragmas: same features per function
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c"))), apply_to = function)
#endif

#include "kernels/cpu/simd_math_avx512.h"

namespace janus::cpu {

namespace {

#include "kernels/cpu/attention_simd_avx512.h"

// All query heads of kv heads [hk0, hk1) for query i, walking the cache key-major: for each key the
// slices of those kv heads are adjacent in memory, so K and V are streamed once, in order, instead of
// once per head at a Hkv·Dh stride (a TLB walk per key per head). Per head the arithmetic is fixed
// (key grouping, exp, lane sums, accumulation order), whatever the head grouping. scratch: nh·Tk scores, nh·Dh accumulators, nh reciprocals; nh = (hk1 − hk0)·(H / Hkv).
template <DType KT, DType VT>
void group_kernel(const AttentionArgs& a, int64_t i, int64_t hk0, int64_t hk1, float* scratch) {
    const int64_t Dh = a.Dh, limit = a.causal_start < 0 ? a.Tk : a.causal_start + i + 1;
    const int64_t rep = a.H / a.Hkv, kstride = a.Hkv * Dh, h0 = hk0 * rep, nh = (hk1 - hk0) * rep;
    float* scores = scratch;
    float* acc = scratch + nh * a.Tk;
    float* inv = acc + nh * Dh;
    const float* qrow = a.q + i * a.H * Dh;

    int64_t j = 0;
    for (; j + 4 <= limit; j += 4)
        for (int64_t hh = 0; hh < nh; hh++) {
            const int64_t h = h0 + hh, kbase = (h / rep) * Dh;
            const float* q = qrow + h * Dh;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (int64_t d = 0; d < Dh; d += 16) {
                __mmask16 m = chunk_mask(d, Dh);
                __m512 qv = _mm512_maskz_loadu_ps(m, q + d);
                s0 = _mm512_fmadd_ps(qv, load16<KT>(a.k, (j + 0) * kstride + kbase + d, m), s0);
                s1 = _mm512_fmadd_ps(qv, load16<KT>(a.k, (j + 1) * kstride + kbase + d, m), s1);
                s2 = _mm512_fmadd_ps(qv, load16<KT>(a.k, (j + 2) * kstride + kbase + d, m), s2);
                s3 = _mm512_fmadd_ps(qv, load16<KT>(a.k, (j + 3) * kstride + kbase + d, m), s3);
            }
            float* sc = scores + hh * a.Tk;
            sc[j + 0] = reduce16(s0) * a.scale;
            sc[j + 1] = reduce16(s1) * a.scale;
            sc[j + 2] = reduce16(s2) * a.scale;
            sc[j + 3] = reduce16(s3) * a.scale;
        }
    for (; j < limit; j++)
        for (int64_t hh = 0; hh < nh; hh++) {
            const int64_t h = h0 + hh, kbase = (h / rep) * Dh;
            const float* q = qrow + h * Dh;
            __m512 s0 = _mm512_setzero_ps();
            for (int64_t d = 0; d < Dh; d += 16) {
                __mmask16 m = chunk_mask(d, Dh);
                s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + d), load16<KT>(a.k, j * kstride + kbase + d, m), s0);
            }
            scores[hh * a.Tk + j] = reduce16(s0) * a.scale;
        }

    for (int64_t hh = 0; hh < nh; hh++) {
        float* sc = scores + hh * a.Tk;
        float mx = sc[0];
        for (j = 1; j < limit; j++) mx = sc[j] > mx ? sc[j] : mx;
        const __m512 vmx = _mm512_set1_ps(mx);
        __m512 vsum = _mm512_setzero_ps();
        for (j = 0; j < limit; j += 16) {
            __mmask16 m = tail_mask16(limit - j);
            __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, sc + j), vmx));
            e = _mm512_maskz_mov_ps(m, e);
            _mm512_mask_storeu_ps(sc + j, m, e);
            vsum = _mm512_add_ps(vsum, e);
        }
        inv[hh] = 1.0f / reduce16(vsum);
        float* ac = acc + hh * Dh;
        for (int64_t d = 0; d < Dh; d += 16) _mm512_mask_storeu_ps(ac + d, chunk_mask(d, Dh), _mm512_setzero_ps());
    }

    for (j = 0; j < limit; j++)
        for (int64_t hh = 0; hh < nh; hh++) {
            const int64_t vbase = j * kstride + ((h0 + hh) / rep) * Dh;
            const __m512 pv = _mm512_set1_ps(scores[hh * a.Tk + j]);
            float* ac = acc + hh * Dh;
            for (int64_t d = 0; d < Dh; d += 16) {
                __mmask16 m = chunk_mask(d, Dh);
                __m512 cur = _mm512_maskz_loadu_ps(m, ac + d);
                _mm512_mask_storeu_ps(ac + d, m, _mm512_fmadd_ps(pv, load16<VT>(a.v, vbase + d, m), cur));
            }
        }

    for (int64_t hh = 0; hh < nh; hh++) {
        float* o = a.out + (i * a.H + h0 + hh) * Dh;
        const float* ac = acc + hh * Dh;
        const __m512 iv = _mm512_set1_ps(inv[hh]);
        for (int64_t d = 0; d < Dh; d += 16) {
            __mmask16 m = chunk_mask(d, Dh);
            _mm512_mask_storeu_ps(o + d, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, ac + d), iv));
        }
    }
}

template <DType KT>
AttentionGroupFn pick_group_v(DType vt) {
    switch (vt) {
        case DType::f32: return group_kernel<KT, DType::f32>;
        case DType::bf16: return group_kernel<KT, DType::bf16>;
        case DType::f16: return group_kernel<KT, DType::f16>;
        default: return nullptr;
    }
}

}  // namespace

AttentionGroupFn attention_group_kernel_avx512(DType kt, DType vt) {
    switch (kt) {
        case DType::f32: return pick_group_v<DType::f32>(vt);
        case DType::bf16: return pick_group_v<DType::bf16>(vt);
        case DType::f16: return pick_group_v<DType::f16>(vt);
        default: return nullptr;
    }
}

}  // namespace janus::cpu

#pragma GCC diagnostic pop
#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
