// AVX-512 split-key ("flash-decoding") attention for problems with few query rows (decode): the
// visible keys [0, limit) of query row i are cut into chunks of kDecodeChunk keys at fixed
// boundaries (multiples of kDecodeChunk, whatever the thread count); one task per (row, chunk)
// computes, for every query head h, a partial result over its keys
//   m_c[h] = max_j s_j,   l_c[h] = Σ_j exp(s_j − m_c[h]),   acc_c[h][Dh] = Σ_j exp(s_j − m_c[h])·v_j
// with s_j = (q_h·k_j)·scale, reading the chunk's K rows [n, Hkv, Dh] and then its V rows in memory
// order (one contiguous block each, so the prefetchers stream it). The merge combines the chunks of
// a row in chunk order:  M = max_c m_c,  w_c = exp(m_c − M),  out[h] = Σ_c w_c·acc_c[h] / Σ_c w_c·l_c[h].
// Every sum has a fixed order, so results are bitwise the same for any thread count.
// k/v are f32, bf16 or f16 (widened to f32 on load; q·k and p·v in f32 FMA); head-dim tails use masks.
// Compiled with a target pragma and reached only through attention_dispatch.cpp's cpuid check.
#include <immintrin.h>

#include <algorithm>
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

// Prefetch `bytes` bytes from p into L1, one request per 64-byte line.
inline void prefetch_bytes(const void* p, int64_t bytes) {
    const char* c = static_cast<const char*>(p);
    for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch(c + o, _MM_HINT_T0);
}

constexpr int64_t kPrefetchKeys = 4;  // how many key rows ahead of the one being read

// One (row i, keys [j0, j1)) partial for all query heads; see the file comment. part: acc[H][Dh],
// then m[H], then l[H]. scratch: H·kDecodeChunk scores (the first H·n used).
template <DType KT, DType VT>
void chunk_kernel(const AttentionArgs& a, int64_t i, int64_t j0, int64_t j1, float* part, float* scratch) {
    constexpr int64_t ksz = KT == DType::f32 ? 4 : 2, vsz = VT == DType::f32 ? 4 : 2;
    const int64_t Dh = a.Dh, H = a.H, rep = a.H / a.Hkv, stride = a.Hkv * Dh, n = j1 - j0;
    const float* qrow = a.q + i * H * Dh;
    const char* K = static_cast<const char*>(a.k);
    const char* V = static_cast<const char*>(a.v);
    float* acc = part;
    float* mrow = part + H * Dh;
    float* lrow = mrow + H;
    float* sc = scratch;  // [H][n]

    // ---- scores, key rows in memory order, four keys per head at a time ----
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) {
        for (int64_t h = 0; h < H; h++) {
            const int64_t kb = (h / rep) * Dh;
            // This kv head's slices of the rows kPrefetchKeys ahead, spread over the heads; past the
            // chunk's last K row the stream continues with its first V rows.
            if (h % rep == 0)
                for (int64_t p = j + kPrefetchKeys; p < j + kPrefetchKeys + 4; p++) {
                    if (p < j1) prefetch_bytes(K + (p * stride + kb) * ksz, Dh * ksz);
                    else if (p - n < j1) prefetch_bytes(V + ((p - n) * stride + kb) * vsz, Dh * vsz);
                }
            const float* q = qrow + h * Dh;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (int64_t d = 0; d < Dh; d += 16) {
                const __mmask16 m = chunk_mask(d, Dh);
                const __m512 qv = _mm512_maskz_loadu_ps(m, q + d);
                s0 = _mm512_fmadd_ps(qv, load16<KT>(a.k, (j + 0) * stride + kb + d, m), s0);
                s1 = _mm512_fmadd_ps(qv, load16<KT>(a.k, (j + 1) * stride + kb + d, m), s1);
                s2 = _mm512_fmadd_ps(qv, load16<KT>(a.k, (j + 2) * stride + kb + d, m), s2);
                s3 = _mm512_fmadd_ps(qv, load16<KT>(a.k, (j + 3) * stride + kb + d, m), s3);
            }
            float* s = sc + h * n + (j - j0);
            s[0] = reduce16(s0) * a.scale;
            s[1] = reduce16(s1) * a.scale;
            s[2] = reduce16(s2) * a.scale;
            s[3] = reduce16(s3) * a.scale;
        }
    }
    for (; j < j1; j++)
        for (int64_t h = 0; h < H; h++) {
            const int64_t kb = (h / rep) * Dh;
            const float* q = qrow + h * Dh;
            __m512 s0 = _mm512_setzero_ps();
            for (int64_t d = 0; d < Dh; d += 16) {
                const __mmask16 m = chunk_mask(d, Dh);
                s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + d), load16<KT>(a.k, j * stride + kb + d, m), s0);
            }
            sc[h * n + (j - j0)] = reduce16(s0) * a.scale;
        }

    // ---- per head: chunk max, p = exp(s − max) in place, lane-wise sum ----
    for (int64_t h = 0; h < H; h++) {
        float* s = sc + h * n;
        float mx = s[0];
        for (int64_t t = 1; t < n; t++) mx = s[t] > mx ? s[t] : mx;
        const __m512 vmx = _mm512_set1_ps(mx);
        __m512 vsum = _mm512_setzero_ps();
        for (int64_t t = 0; t < n; t += 16) {
            const __mmask16 m = tail_mask16(n - t);
            __m512 e = _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + t), vmx)));
            _mm512_mask_storeu_ps(s + t, m, e);
            vsum = _mm512_add_ps(vsum, e);
        }
        mrow[h] = mx;
        lrow[h] = reduce16(vsum);
    }

    // ---- acc[h] = Σ_j p_j·v_j: V rows in memory order, four keys per accumulator load/store ----
    for (int64_t t = 0; t < H * Dh; t += 16) _mm512_mask_storeu_ps(acc + t, tail_mask16(H * Dh - t), _mm512_setzero_ps());
    for (j = j0; j < j1; j += 4) {
        const int64_t nk = j1 - j < 4 ? j1 - j : 4;
        const int64_t pf_end = j + kPrefetchKeys + 4 < j1 ? j + kPrefetchKeys + 4 : j1;
        for (int64_t h = 0; h < H; h++) {
            const int64_t vb = j * stride + (h / rep) * Dh;
            if (h % rep == 0)
                for (int64_t p = j + kPrefetchKeys; p < pf_end; p++)
                    prefetch_bytes(V + (p * stride + (h / rep) * Dh) * vsz, Dh * vsz);
            const float* s = sc + h * n + (j - j0);
            float* ac = acc + h * Dh;
            if (nk == 4) {
                const __m512 p0 = _mm512_set1_ps(s[0]), p1 = _mm512_set1_ps(s[1]);
                const __m512 p2 = _mm512_set1_ps(s[2]), p3 = _mm512_set1_ps(s[3]);
                for (int64_t d = 0; d < Dh; d += 16) {
                    const __mmask16 m = chunk_mask(d, Dh);
                    __m512 x = _mm512_maskz_loadu_ps(m, ac + d);
                    x = _mm512_fmadd_ps(p0, load16<VT>(a.v, vb + d, m), x);
                    x = _mm512_fmadd_ps(p1, load16<VT>(a.v, vb + stride + d, m), x);
                    x = _mm512_fmadd_ps(p2, load16<VT>(a.v, vb + 2 * stride + d, m), x);
                    x = _mm512_fmadd_ps(p3, load16<VT>(a.v, vb + 3 * stride + d, m), x);
                    _mm512_mask_storeu_ps(ac + d, m, x);
                }
            } else {
                for (int64_t d = 0; d < Dh; d += 16) {
                    const __mmask16 m = chunk_mask(d, Dh);
                    __m512 x = _mm512_maskz_loadu_ps(m, ac + d);
                    for (int64_t u = 0; u < nk; u++)
                        x = _mm512_fmadd_ps(_mm512_set1_ps(s[u]), load16<VT>(a.v, vb + u * stride + d, m), x);
                    _mm512_mask_storeu_ps(ac + d, m, x);
                }
            }
        }
    }
}

// ---- bf16 K/V with Dh % 32 == 0: pairs of bf16 widened in place ----------------------------------
// One 64-byte load holds 32 bf16 = 16 pairs; (x << 16) is the even elements as f32 and
// (x & 0xffff0000) the odd ones, exactly. q is split the same way per 32-element block (qe, qo), and
// the V accumulators are kept as even/odd halves and interleaved back when the chunk is done.

inline __m512 bf16_even(__m512i x) { return _mm512_castsi512_ps(_mm512_slli_epi32(x, 16)); }
inline __m512 bf16_odd(__m512i x) { return _mm512_castsi512_ps(_mm512_and_si512(x, _mm512_set1_epi32(int(0xffff0000u)))); }
inline __m512i load_pairs(const uint16_t* p) { return _mm512_loadu_si512(static_cast<const void*>(p)); }

// The four dot products s0..s3 → one __m128 {Σs0, Σs1, Σs2, Σs3} with a fixed tree.
inline __m128 reduce16x4(__m512 s0, __m512 s1, __m512 s2, __m512 s3) {
    const __m512 u0 = _mm512_add_ps(_mm512_shuffle_f32x4(s0, s1, 0x44), _mm512_shuffle_f32x4(s0, s1, 0xEE));
    const __m512 u1 = _mm512_add_ps(_mm512_shuffle_f32x4(s2, s3, 0x44), _mm512_shuffle_f32x4(s2, s3, 0xEE));
    // 128-bit lanes: [s0 a, s0 b, s1 a, s1 b] and [s2 a, s2 b, s3 a, s3 b] → [s0, s1, s2, s3]
    __m512 v = _mm512_add_ps(_mm512_shuffle_f32x4(u0, u1, 0x88), _mm512_shuffle_f32x4(u0, u1, 0xDD));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, 0x4E));  // lane: [a+c, b+d, c+a, d+b]
    v = _mm512_add_ps(v, _mm512_permute_ps(v, 0xB1));  // lane element 0: (a+c)+(b+d)
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), v));
}

void chunk_kernel_bf16_pairs(const AttentionArgs& a, int64_t i, int64_t j0, int64_t j1, float* part, float* scratch) {
    const int64_t Dh = a.Dh, H = a.H, rep = a.H / a.Hkv, stride = a.Hkv * Dh, n = j1 - j0, nb = Dh / 32;
    const uint16_t* K = static_cast<const uint16_t*>(a.k);
    const uint16_t* V = static_cast<const uint16_t*>(a.v);
    float* mrow = part + H * Dh;
    float* lrow = mrow + H;
    float* sc = scratch;                      // [H][kDecodeChunk] scores
    float* qs = scratch + H * kDecodeChunk;   // [H][nb][even 16, odd 16]
    float* acc = qs + H * Dh;                 // [H][nb][even 16, odd 16]
    const __m512i even_idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd_idx = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t t = 0; t < H * nb; t++) {
        const float* q = a.q + i * H * Dh + t * 32;
        const __m512 lo = _mm512_loadu_ps(q), hi = _mm512_loadu_ps(q + 16);
        _mm512_storeu_ps(qs + t * 32, _mm512_permutex2var_ps(lo, even_idx, hi));
        _mm512_storeu_ps(qs + t * 32 + 16, _mm512_permutex2var_ps(lo, odd_idx, hi));
    }
    const __m512 vscale = _mm512_set1_ps(a.scale);

    // ---- scores ----
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) {
        for (int64_t h = 0; h < H; h++) {
            const uint16_t* k = K + j * stride + (h / rep) * Dh;
            // This kv head's slices of the rows kPrefetchKeys ahead, spread over the heads; past the
            // chunk's last K row the stream continues with its first V rows.
            if (h % rep == 0)
                for (int64_t p = j + kPrefetchKeys; p < j + kPrefetchKeys + 4; p++) {
                    if (p < j1) prefetch_bytes(K + p * stride + (h / rep) * Dh, Dh * 2);
                    else if (p - n < j1) prefetch_bytes(V + (p - n) * stride + (h / rep) * Dh, Dh * 2);
                }
            const float* q = qs + h * Dh;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (int64_t b = 0; b < nb; b++) {
                const __m512 qe = _mm512_loadu_ps(q + 32 * b), qo = _mm512_loadu_ps(q + 32 * b + 16);
                __m512i x0 = load_pairs(k + 32 * b), x1 = load_pairs(k + stride + 32 * b);
                __m512i x2 = load_pairs(k + 2 * stride + 32 * b), x3 = load_pairs(k + 3 * stride + 32 * b);
                s0 = _mm512_fmadd_ps(qo, bf16_odd(x0), _mm512_fmadd_ps(qe, bf16_even(x0), s0));
                s1 = _mm512_fmadd_ps(qo, bf16_odd(x1), _mm512_fmadd_ps(qe, bf16_even(x1), s1));
                s2 = _mm512_fmadd_ps(qo, bf16_odd(x2), _mm512_fmadd_ps(qe, bf16_even(x2), s2));
                s3 = _mm512_fmadd_ps(qo, bf16_odd(x3), _mm512_fmadd_ps(qe, bf16_even(x3), s3));
            }
            _mm_storeu_ps(sc + h * kDecodeChunk + (j - j0),
                          _mm_mul_ps(reduce16x4(s0, s1, s2, s3), _mm512_castps512_ps128(vscale)));
        }
    }
    for (; j < j1; j++)
        for (int64_t h = 0; h < H; h++) {
            const uint16_t* k = K + j * stride + (h / rep) * Dh;
            const float* q = qs + h * Dh;
            __m512 s0 = _mm512_setzero_ps(), z = s0;
            for (int64_t b = 0; b < nb; b++) {
                __m512i x0 = load_pairs(k + 32 * b);
                s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + 32 * b + 16), bf16_odd(x0),
                                     _mm512_fmadd_ps(_mm512_loadu_ps(q + 32 * b), bf16_even(x0), s0));
            }
            sc[h * kDecodeChunk + (j - j0)] = _mm_cvtss_f32(reduce16x4(s0, z, z, z)) * a.scale;
        }

    // ---- per head: chunk max, p = exp(s − max) in place, lane-wise sum ----
    for (int64_t h = 0; h < H; h++) {
        float* s = sc + h * kDecodeChunk;
        float mx = s[0];
        for (int64_t t = 1; t < n; t++) mx = s[t] > mx ? s[t] : mx;
        const __m512 vmx = _mm512_set1_ps(mx);
        __m512 vsum = _mm512_setzero_ps();
        for (int64_t t = 0; t < n; t += 16) {
            const __mmask16 m = tail_mask16(n - t);
            __m512 e = _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + t), vmx)));
            _mm512_mask_storeu_ps(s + t, m, e);
            vsum = _mm512_add_ps(vsum, e);
        }
        mrow[h] = mx;
        lrow[h] = reduce16(vsum);
    }

    // ---- acc[h] = Σ_j p_j·v_j, four keys per accumulator load/store ----
    for (int64_t t = 0; t < H * Dh; t += 16) _mm512_storeu_ps(acc + t, _mm512_setzero_ps());
    for (j = j0; j < j1; j += 4) {
        const int64_t nk = j1 - j < 4 ? j1 - j : 4;
        const int64_t pf_keys = std::min<int64_t>(4, j1 - (j + kPrefetchKeys));
        for (int64_t h = 0; h < H; h++) {
            const uint16_t* v = V + j * stride + (h / rep) * Dh;
            if (h % rep == 0)
                for (int64_t u = 0; u < pf_keys; u++) prefetch_bytes(v + (kPrefetchKeys + u) * stride, Dh * 2);
            const float* s = sc + h * kDecodeChunk + (j - j0);
            float* ac = acc + h * Dh;
            if (nk == 4) {
                const __m512 p0 = _mm512_set1_ps(s[0]), p1 = _mm512_set1_ps(s[1]);
                const __m512 p2 = _mm512_set1_ps(s[2]), p3 = _mm512_set1_ps(s[3]);
                for (int64_t b = 0; b < nb; b++) {
                    __m512 e = _mm512_loadu_ps(ac + 32 * b), o = _mm512_loadu_ps(ac + 32 * b + 16);
                    __m512i x = load_pairs(v + 32 * b);
                    e = _mm512_fmadd_ps(p0, bf16_even(x), e), o = _mm512_fmadd_ps(p0, bf16_odd(x), o);
                    x = load_pairs(v + stride + 32 * b);
                    e = _mm512_fmadd_ps(p1, bf16_even(x), e), o = _mm512_fmadd_ps(p1, bf16_odd(x), o);
                    x = load_pairs(v + 2 * stride + 32 * b);
                    e = _mm512_fmadd_ps(p2, bf16_even(x), e), o = _mm512_fmadd_ps(p2, bf16_odd(x), o);
                    x = load_pairs(v + 3 * stride + 32 * b);
                    e = _mm512_fmadd_ps(p3, bf16_even(x), e), o = _mm512_fmadd_ps(p3, bf16_odd(x), o);
                    _mm512_storeu_ps(ac + 32 * b, e);
                    _mm512_storeu_ps(ac + 32 * b + 16, o);
                }
            } else {
                for (int64_t b = 0; b < nb; b++) {
                    __m512 e = _mm512_loadu_ps(ac + 32 * b), o = _mm512_loadu_ps(ac + 32 * b + 16);
                    for (int64_t u = 0; u < nk; u++) {
                        const __m512 pu = _mm512_set1_ps(s[u]);
                        const __m512i x = load_pairs(v + u * stride + 32 * b);
                        e = _mm512_fmadd_ps(pu, bf16_even(x), e), o = _mm512_fmadd_ps(pu, bf16_odd(x), o);
                    }
                    _mm512_storeu_ps(ac + 32 * b, e);
                    _mm512_storeu_ps(ac + 32 * b + 16, o);
                }
            }
        }
    }
    // even/odd halves back to natural order: part[h][32b + 2t] = even[t], part[h][32b + 2t + 1] = odd[t]
    const __m512i lo_idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi_idx = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int64_t t = 0; t < H * nb; t++) {
        const __m512 e = _mm512_loadu_ps(acc + 32 * t), o = _mm512_loadu_ps(acc + 32 * t + 16);
        _mm512_storeu_ps(part + 32 * t, _mm512_permutex2var_ps(e, lo_idx, o));
        _mm512_storeu_ps(part + 32 * t + 16, _mm512_permutex2var_ps(e, hi_idx, o));
    }
}

// Combines the nchunks partials of row i (laid out one after another, chunk order) into a.out row i.
void merge_kernel(const AttentionArgs& a, int64_t i, const float* parts, int64_t nchunks) {
    const int64_t H = a.H, Dh = a.Dh, per = H * (Dh + 2);
    for (int64_t h = 0; h < H; h++) {
        float M = parts[H * Dh + h];
        for (int64_t c = 1; c < nchunks; c++) {
            const float m = parts[c * per + H * Dh + h];
            M = m > M ? m : M;
        }
        float L = 0.0f;
        float* o = a.out + (i * H + h) * Dh;
        for (int64_t d = 0; d < Dh; d += 16) _mm512_mask_storeu_ps(o + d, chunk_mask(d, Dh), _mm512_setzero_ps());
        for (int64_t c = 0; c < nchunks; c++) {
            const float* p = parts + c * per;
            const float w = std::exp(p[H * Dh + h] - M);
            L += w * p[H * Dh + H + h];
            const __m512 vw = _mm512_set1_ps(w);
            for (int64_t d = 0; d < Dh; d += 16) {
                const __mmask16 m = chunk_mask(d, Dh);
                const __m512 x = _mm512_fmadd_ps(vw, _mm512_maskz_loadu_ps(m, p + h * Dh + d), _mm512_maskz_loadu_ps(m, o + d));
                _mm512_mask_storeu_ps(o + d, m, x);
            }
        }
        const __m512 inv = _mm512_set1_ps(1.0f / L);
        for (int64_t d = 0; d < Dh; d += 16) {
            const __mmask16 m = chunk_mask(d, Dh);
            _mm512_mask_storeu_ps(o + d, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, o + d), inv));
        }
    }
}

template <DType KT>
AttentionChunkFn pick_chunk_v(DType vt) {
    switch (vt) {
        case DType::f32: return chunk_kernel<KT, DType::f32>;
        case DType::bf16: return chunk_kernel<KT, DType::bf16>;
        case DType::f16: return chunk_kernel<KT, DType::f16>;
        default: return nullptr;
    }
}

}  // namespace

AttentionDecodeFns attention_decode_kernels_avx512(DType kt, DType vt, int64_t Dh) {
    if (kt == DType::bf16 && vt == DType::bf16 && Dh % 32 == 0) return AttentionDecodeFns{chunk_kernel_bf16_pairs, merge_kernel};
    AttentionChunkFn fn = nullptr;
    switch (kt) {
        case DType::f32: fn = pick_chunk_v<DType::f32>(vt); break;
        case DType::bf16: fn = pick_chunk_v<DType::bf16>(vt); break;
        case DType::f16: fn = pick_chunk_v<DType::f16>(vt); break;
        default: break;
    }
    return fn ? AttentionDecodeFns{fn, merge_kernel} : AttentionDecodeFns{};
}

}  // namespace janus::cpu

#pragma GCC diagnostic pop
#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
