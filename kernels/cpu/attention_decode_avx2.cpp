// AVX2+FMA split-key ("flash-decoding") attention for decode rows, the design of
// attention_decode_avx512.cpp on 8 lanes: one task per (query row i, chunk of kDecodeChunk keys) over
// all H heads computes m_c[h] = max_j s_j, l_c[h] = Σ_j exp(s_j − m_c[h]) and the unnormalised
// acc_c[h][Dh] = Σ_j exp(s_j − m_c[h])·v_j, reading the chunk's K rows [n, Hkv, Dh] and then its V rows
// in memory order with software prefetch; the merge combines a row's chunks in chunk order
// (M = max m_c, w_c = exp(m_c − M), out = Σ w_c·acc_c / Σ w_c·l_c). Fixed-order sums: bitwise the same
// for any thread count. k/v rows in f32/bf16/f16 are widened on load; head-dim tails use maskload
// for f32 and a zero-padded copy for 16-bit types. Reached only through attention_dispatch.cpp.
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

#include "kernels/cpu/attention_simd_avx2.h"

inline void prefetch_bytes(const void* p, int64_t bytes) {
    const char* c = static_cast<const char*>(p);
    for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch(c + o, _MM_HINT_T0);
}

constexpr int64_t kPrefetchKeys = 4;  // key rows ahead of the ones being read

// part: acc[H][Dh], then m[H], then l[H]; scratch: H·kDecodeChunk scores.
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
    float* sc = scratch;  // [H][kDecodeChunk]

    // ---- scores: four keys per head at a time, each reduced with one fixed tree ----
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) {
        for (int64_t h = 0; h < H; h++) {
            const int64_t kb = (h / rep) * Dh;
            if (h % rep == 0)  // this kv head's slices kPrefetchKeys rows ahead; past the chunk, its V rows
                for (int64_t p = j + kPrefetchKeys; p < j + kPrefetchKeys + 4; p++) {
                    if (p < j1) prefetch_bytes(K + (p * stride + kb) * ksz, Dh * ksz);
                    else if (p - n < j1) prefetch_bytes(V + ((p - n) * stride + kb) * vsz, Dh * vsz);
                }
            const float* q = qrow + h * Dh;
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (int64_t d = 0; d < Dh; d += 8) {
                const __m256i m = tail_mask8(Dh - d);
                const __m256 qv = _mm256_maskload_ps(q + d, m);
                s0 = _mm256_fmadd_ps(qv, load8<KT>(a.k, (j + 0) * stride + kb + d, Dh - d, m), s0);
                s1 = _mm256_fmadd_ps(qv, load8<KT>(a.k, (j + 1) * stride + kb + d, Dh - d, m), s1);
                s2 = _mm256_fmadd_ps(qv, load8<KT>(a.k, (j + 2) * stride + kb + d, Dh - d, m), s2);
                s3 = _mm256_fmadd_ps(qv, load8<KT>(a.k, (j + 3) * stride + kb + d, Dh - d, m), s3);
            }
            float* s = sc + h * kDecodeChunk + (j - j0);
            s[0] = reduce8(s0) * a.scale;
            s[1] = reduce8(s1) * a.scale;
            s[2] = reduce8(s2) * a.scale;
            s[3] = reduce8(s3) * a.scale;
        }
    }
    for (; j < j1; j++)
        for (int64_t h = 0; h < H; h++) {
            const int64_t kb = (h / rep) * Dh;
            const float* q = qrow + h * Dh;
            __m256 s0 = _mm256_setzero_ps();
            for (int64_t d = 0; d < Dh; d += 8) {
                const __m256i m = tail_mask8(Dh - d);
                s0 = _mm256_fmadd_ps(_mm256_maskload_ps(q + d, m), load8<KT>(a.k, j * stride + kb + d, Dh - d, m), s0);
            }
            sc[h * kDecodeChunk + (j - j0)] = reduce8(s0) * a.scale;
        }

    // ---- per head: chunk max, p = exp(s − max) in place, lane-wise sum ----
    for (int64_t h = 0; h < H; h++) {
        float* s = sc + h * kDecodeChunk;
        float mx = s[0];
        for (int64_t t = 1; t < n; t++) mx = s[t] > mx ? s[t] : mx;
        const __m256 vmx = _mm256_set1_ps(mx);
        __m256 vsum = _mm256_setzero_ps();
        for (int64_t t = 0; t < n; t += 8) {
            const __m256i m = tail_mask8(n - t);
            __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(s + t, m), vmx));
            e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
            _mm256_maskstore_ps(s + t, m, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        mrow[h] = mx;
        lrow[h] = reduce8(vsum);
    }

    // ---- acc[h] = Σ_j p_j·v_j: V rows in memory order, keys one after another per accumulator ----
    for (int64_t t = 0; t < H * Dh; t++) acc[t] = 0.0f;
    for (j = j0; j < j1; j += 4) {
        const int64_t nk = j1 - j < 4 ? j1 - j : 4;
        const int64_t pf_end = j + kPrefetchKeys + 4 < j1 ? j + kPrefetchKeys + 4 : j1;
        for (int64_t h = 0; h < H; h++) {
            const int64_t vb = j * stride + (h / rep) * Dh;
            if (h % rep == 0)
                for (int64_t p = j + kPrefetchKeys; p < pf_end; p++)
                    prefetch_bytes(V + (p * stride + (h / rep) * Dh) * vsz, Dh * vsz);
            const float* s = sc + h * kDecodeChunk + (j - j0);
            float* ac = acc + h * Dh;
            for (int64_t d = 0; d < Dh; d += 8) {
                const __m256i m = tail_mask8(Dh - d);
                __m256 x = _mm256_maskload_ps(ac + d, m);
                for (int64_t u = 0; u < nk; u++)
                    x = _mm256_fmadd_ps(_mm256_set1_ps(s[u]), load8<VT>(a.v, vb + u * stride + d, Dh - d, m), x);
                _mm256_maskstore_ps(ac + d, m, x);
            }
        }
    }
}

// Combines the nchunks partials of row i (one after another, chunk order) into a.out row i.
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
        for (int64_t d = 0; d < Dh; d++) o[d] = 0.0f;
        for (int64_t c = 0; c < nchunks; c++) {
            const float* p = parts + c * per;
            const float w = std::exp(p[H * Dh + h] - M);
            L += w * p[H * Dh + H + h];
            const __m256 vw = _mm256_set1_ps(w);
            for (int64_t d = 0; d < Dh; d += 8) {
                const __m256i m = tail_mask8(Dh - d);
                const __m256 x = _mm256_fmadd_ps(vw, _mm256_maskload_ps(p + h * Dh + d, m), _mm256_maskload_ps(o + d, m));
                _mm256_maskstore_ps(o + d, m, x);
            }
        }
        const __m256 inv = _mm256_set1_ps(1.0f / L);
        for (int64_t d = 0; d < Dh; d += 8) {
            const __m256i m = tail_mask8(Dh - d);
            _mm256_maskstore_ps(o + d, m, _mm256_mul_ps(_mm256_maskload_ps(o + d, m), inv));
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

AttentionDecodeFns attention_decode_kernels_avx2(DType kt, DType vt) {
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

#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
