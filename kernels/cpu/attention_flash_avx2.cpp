// AVX2+FMA tiled ("flash") attention kernel, the AVX-512 design (attention_flash_avx512.cpp) on 8
// lanes: up to 4 query rows of one head against all keys, 16 keys per block, online softmax:
//   S[4, 16] = (Q·K_blkᵀ)·scale      4 rows × 2 ymm accumulators
//   m' = max(m, rowmax S); c = exp(m − m'); P = exp(S − m'); l = l·c + ΣP; acc = acc·c + P·V_blk
//   out = acc / l
// K/V pre-packed as f32 by cpu_attention.cpp: kt[Dh][Tkp] and vp[Tkp][Dhp], Tkp / Dhp rounded up to
// 16, zero padded; padded keys are masked out of the softmax. Fixed arithmetic per (row, head).
// Compiled with a target pragma and reached only through attention_dispatch.cpp; internal linkage only.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/attention_kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#ifdef __clang__  // clang ignores GCC target pragmas: same features per function
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#endif

#include "kernels/cpu/simd_math_avx2.h"

namespace janus::cpu {

namespace {

constexpr int kRows = 4;   // query rows per call
constexpr int kKeys = 16;  // keys per block (2 ymm)

inline float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Lanes of keys j0 + 8·c + [0, 8) that exist (j < Tk), as an all-ones/zero float mask.
inline __m256 valid_keys(int64_t j0, int c, int64_t Tk) {
    const __m256 idx = _mm256_add_ps(_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_ps(float(j0 + 8 * c)));
    return _mm256_cmp_ps(idx, _mm256_set1_ps(float(Tk)), _CMP_LT_OQ);
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
    const __m256 vscale = _mm256_set1_ps(a.scale), ninf = _mm256_set1_ps(-INFINITY);
    for (int64_t j0 = 0; j0 < Tk; j0 += kKeys) {
        const int64_t nk = std::min<int64_t>(kKeys, Tk - j0);
        __m256 s[kRows][2];
        for (int r = 0; r < kRows; r++) s[r][0] = s[r][1] = _mm256_setzero_ps();
        const float* kp = kt + j0;
        for (int64_t d = 0; d < Dh; d++, kp += Tkp) {
            const __m256 k0 = _mm256_loadu_ps(kp), k1 = _mm256_loadu_ps(kp + 8);
            for (int r = 0; r < kRows; r++) {
                const __m256 qb = _mm256_set1_ps(q[r][d]);
                s[r][0] = _mm256_fmadd_ps(qb, k0, s[r][0]);
                s[r][1] = _mm256_fmadd_ps(qb, k1, s[r][1]);
            }
        }
        const __m256 valid[2] = {valid_keys(j0, 0, Tk), valid_keys(j0, 1, Tk)};
        for (int r = 0; r < kRows; r++) {
            __m256 x[2];
            for (int c = 0; c < 2; c++) x[c] = _mm256_blendv_ps(ninf, _mm256_mul_ps(s[r][c], vscale), valid[c]);
            const float mnew = std::max(m[r], hmax8(_mm256_max_ps(x[0], x[1])));
            corr[r] = std::exp(m[r] - mnew);  // 0 on the first block (m = −inf)
            const __m256 vm = _mm256_set1_ps(mnew);
            __m256 sum = _mm256_setzero_ps();
            for (int c = 0; c < 2; c++) {
                const __m256 p = _mm256_and_ps(exp8(_mm256_sub_ps(x[c], vm)), valid[c]);
                _mm256_storeu_ps(P + r * kKeys + 8 * c, p);
                sum = _mm256_add_ps(sum, p);
            }
            l[r] = l[r] * corr[r] + hsum8(sum);
            m[r] = mnew;
        }
        for (int64_t dc = 0; dc < Dhp; dc += 16) {
            __m256 o[kRows][2];
            for (int r = 0; r < kRows; r++) {
                const __m256 cr = _mm256_set1_ps(corr[r]);
                for (int c = 0; c < 2; c++) o[r][c] = _mm256_mul_ps(_mm256_loadu_ps(acc + r * Dhp + dc + 8 * c), cr);
            }
            const float* vrow = vp + j0 * Dhp + dc;
            for (int64_t j = 0; j < nk; j++, vrow += Dhp) {
                const __m256 v0 = _mm256_loadu_ps(vrow), v1 = _mm256_loadu_ps(vrow + 8);
                for (int r = 0; r < kRows; r++) {
                    const __m256 pb = _mm256_set1_ps(P[r * kKeys + j]);
                    o[r][0] = _mm256_fmadd_ps(pb, v0, o[r][0]);
                    o[r][1] = _mm256_fmadd_ps(pb, v1, o[r][1]);
                }
            }
            for (int r = 0; r < kRows; r++)
                for (int c = 0; c < 2; c++) _mm256_storeu_ps(acc + r * Dhp + dc + 8 * c, o[r][c]);
        }
    }
    for (int64_t r = 0; r < nr; r++) {
        float* o = a.out + ((i0 + r) * a.H + h) * Dh;
        const float* ar = acc + r * Dhp;
        for (int64_t d = 0; d < Dh; d++) o[d] = ar[d] / l[r];
    }
}

}  // namespace

AttentionFlashFn attention_flash_kernel_avx2() { return flash_rows; }

}  // namespace janus::cpu

#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
