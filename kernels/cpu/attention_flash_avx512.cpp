// AVX-512 tiled ("flash") attention kernel for long non-causal attention (SigLIP: 576 queries × 576
// keys × 16 heads × Dh 64; VQ: 576 × 576 × 1 head × Dh 512). One call computes up to 4 query rows of
// one head against all keys, 64 keys per block, with an online softmax:
//   S[4, 64] = (Q·K_blkᵀ)·scale      4 rows × 4 zmm accumulators, one broadcast q[r][d] per row per d
//   m' = max(m, rowmax S); c = exp(m − m'); P = exp(S − m'); l = l·c + ΣP; acc = acc·c + P·V_blk
//   out = acc / l
// K and V come pre-packed as f32 by cpu_attention.cpp: kt[Dh][Tkp] (keys transposed, so 16 keys are
// one load) and vp[Tkp][Dhp], Tkp = Tk and Dhp = Dh rounded up to 16, zero padded. Padded keys are
// masked out of the softmax. The arithmetic per (row, head) is fixed whatever the thread count.
// Compiled with a target pragma and reached only through attention_dispatch.cpp's cpuid check.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/attention_kernels.h"

#pragma GCC push_options
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 false positives inside _mm512_reduce_*_ps
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")
#ifdef __clang__  // clang ignores GCC target pragmas: same features per function
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c"))), apply_to = function)
#endif

#include "kernels/cpu/simd_math_avx512.h"

namespace janus::cpu {

namespace {

constexpr int kRows = 4;   // query rows per call
constexpr int kKeys = 64;  // keys per block (4 zmm)

// P[r][0 : 16·NZ) = (q_r · k_j)·scale for the keys j0 + [0, 16·NZ); keys >= Tk get −inf.
template <int NZ>
inline void scores(const float* const* q, const float* kt, int64_t Tkp, int64_t Dh, int64_t j0, int64_t Tk,
                   float scale, float* P) {
    __m512 s[kRows][NZ];
    for (int r = 0; r < kRows; r++)
        for (int c = 0; c < NZ; c++) s[r][c] = _mm512_setzero_ps();
    const float* kp = kt + j0;
    for (int64_t d = 0; d < Dh; d++, kp += Tkp) {
        __m512 kv[NZ];
        for (int c = 0; c < NZ; c++) kv[c] = _mm512_loadu_ps(kp + 16 * c);
        for (int r = 0; r < kRows; r++) {
            const __m512 qb = _mm512_set1_ps(q[r][d]);
            for (int c = 0; c < NZ; c++) s[r][c] = _mm512_fmadd_ps(qb, kv[c], s[r][c]);
        }
    }
    const __m512 vs = _mm512_set1_ps(scale), ninf = _mm512_set1_ps(-INFINITY);
    for (int c = 0; c < NZ; c++) {
        const __mmask16 m = tail_mask16(Tk - j0 - 16 * c);
        for (int r = 0; r < kRows; r++)
            _mm512_storeu_ps(P + r * kKeys + 16 * c, _mm512_mask_mul_ps(ninf, m, s[r][c], vs));
    }
}

// acc[r][dc : dc + 16·ND) = acc·corr[r] + Σ_j P[r][j]·vp[j0 + j][dc : ...] over nk keys.
template <int ND>
inline void accumulate(float* acc, int64_t Dhp, int64_t dc, const float* P, const float* vp, int64_t j0, int64_t nk,
                       const float* corr) {
    __m512 o[kRows][ND];
    for (int r = 0; r < kRows; r++) {
        const __m512 cr = _mm512_set1_ps(corr[r]);
        for (int c = 0; c < ND; c++) o[r][c] = _mm512_mul_ps(_mm512_loadu_ps(acc + r * Dhp + dc + 16 * c), cr);
    }
    const float* vrow = vp + j0 * Dhp + dc;
    for (int64_t j = 0; j < nk; j++, vrow += Dhp) {
        __m512 vv[ND];
        for (int c = 0; c < ND; c++) vv[c] = _mm512_loadu_ps(vrow + 16 * c);
        for (int r = 0; r < kRows; r++) {
            const __m512 pb = _mm512_set1_ps(P[r * kKeys + j]);
            for (int c = 0; c < ND; c++) o[r][c] = _mm512_fmadd_ps(pb, vv[c], o[r][c]);
        }
    }
    for (int r = 0; r < kRows; r++)
        for (int c = 0; c < ND; c++) _mm512_storeu_ps(acc + r * Dhp + dc + 16 * c, o[r][c]);
}

// Rows [i0, i0 + nr) (nr <= 4) of query head h; rows past nr repeat the last row and are not stored.
// scratch: kRows·Dhp accumulators + kRows·kKeys probabilities.
void flash_rows(const AttentionArgs& a, const float* kt, const float* vp, int64_t i0, int64_t nr, int64_t h,
                float* scratch) {
    const int64_t Dh = a.Dh, Tk = a.Tk, Tkp = (Tk + 15) / 16 * 16, Dhp = (Dh + 15) / 16 * 16;
    const float* q[kRows];
    for (int r = 0; r < kRows; r++) q[r] = a.q + ((i0 + std::min<int64_t>(r, nr - 1)) * a.H + h) * Dh;
    float* acc = scratch;
    float* P = scratch + kRows * Dhp;
    std::fill(acc, acc + kRows * Dhp, 0.0f);
    float m[kRows], l[kRows], corr[kRows];
    for (int r = 0; r < kRows; r++) m[r] = -INFINITY, l[r] = 0.0f;
    for (int64_t j0 = 0; j0 < Tk; j0 += kKeys) {
        const int64_t nk = std::min<int64_t>(kKeys, Tk - j0), nz = (nk + 15) / 16;
        switch (nz) {
            case 4: scores<4>(q, kt, Tkp, Dh, j0, Tk, a.scale, P); break;
            case 3: scores<3>(q, kt, Tkp, Dh, j0, Tk, a.scale, P); break;
            case 2: scores<2>(q, kt, Tkp, Dh, j0, Tk, a.scale, P); break;
            default: scores<1>(q, kt, Tkp, Dh, j0, Tk, a.scale, P); break;
        }
        for (int r = 0; r < kRows; r++) {
            float* pr = P + r * kKeys;
            __m512 vmx = _mm512_set1_ps(-INFINITY);
            for (int64_t c = 0; c < nz; c++) vmx = _mm512_max_ps(vmx, _mm512_loadu_ps(pr + 16 * c));
            const float mnew = std::max(m[r], _mm512_reduce_max_ps(vmx));
            corr[r] = std::exp(m[r] - mnew);  // 0 on the first block (m = −inf)
            const __m512 vm = _mm512_set1_ps(mnew);
            __m512 sum = _mm512_setzero_ps();
            for (int64_t c = 0; c < nz; c++) {
                const __mmask16 valid = tail_mask16(nk - 16 * c);
                const __m512 p = _mm512_maskz_mov_ps(valid, exp16(_mm512_sub_ps(_mm512_loadu_ps(pr + 16 * c), vm)));
                _mm512_storeu_ps(pr + 16 * c, p);
                sum = _mm512_add_ps(sum, p);
            }
            l[r] = l[r] * corr[r] + _mm512_reduce_add_ps(sum);
            m[r] = mnew;
        }
        for (int64_t dc = 0; dc < Dhp; dc += 64) {
            switch (std::min<int64_t>(4, (Dhp - dc) / 16)) {
                case 4: accumulate<4>(acc, Dhp, dc, P, vp, j0, nk, corr); break;
                case 3: accumulate<3>(acc, Dhp, dc, P, vp, j0, nk, corr); break;
                case 2: accumulate<2>(acc, Dhp, dc, P, vp, j0, nk, corr); break;
                default: accumulate<1>(acc, Dhp, dc, P, vp, j0, nk, corr); break;
            }
        }
    }
    for (int64_t r = 0; r < nr; r++) {
        float* o = a.out + ((i0 + r) * a.H + h) * Dh;
        const float* ar = acc + r * Dhp;
        for (int64_t d = 0; d < Dh; d++) o[d] = ar[d] / l[r];
    }
}

}  // namespace

AttentionFlashFn attention_flash_kernel_avx512() { return flash_rows; }

}  // namespace janus::cpu

#pragma GCC diagnostic pop
#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
