// AVX-512 f32 GEMM for many activation rows (see gemm.h): C[M, N] (=|+=) A[M, K] · B[N, K]ᵀ (+ bias[N])
// with f32 or bf16 weights B (converted exactly as they are broadcast) and M >= 32 — SigLIP's and the
// prefill's projections. Unlike the dot-product
// kernels in gemm_avx512.cpp (which reduce 16 lanes per output at the end), this one runs the
// activation rows along the vector lanes:
//  - A is packed once per call as Aᵀ panels Ap[M/64][K][64] (64 rows per panel, zero rows past M),
//    with gathers, split over the pool;
//  - the micro-kernel keeps a tile of 6 weight rows × 64 activation rows in 24 zmm accumulators and per
//    k broadcasts 6 weights and loads 4 vectors of the panel (24 FMAs per 10 loads, no reduction);
//  - K is blocked by 1024 (a panel's K block is 256 KiB and stays in L2 while the task's weight rows
//    stream past it); partial sums wait in a per-thread buffer between K blocks (stored and reloaded
//    as f32, which is exact).
// Every output element is one lane of one accumulator summed over k in increasing order, whatever
// tile or thread computes it, so results are bitwise identical for any thread count. The threads
// split the weight rows (blocks of 6). Compiled with a target pragma and reached only through the
// cpuid dispatch in gemm.cpp; uses no inline functions from library headers.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/gemm.h"

#pragma GCC push_options
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma")
#ifdef __clang__  // clang ignores GCC target pragmas: same features per function
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))), \
                             apply_to = function)
#endif

namespace janus::cpu {

namespace {

constexpr int kJ = 6;          // weight rows per tile
constexpr int64_t kKC = 1024;  // K block

// acc[j][16·v + l] (+)= Σ_{k in [k0, k1)} B[j][k] · Ap[k][16·v + l] for J weight rows, NV vectors.
template <DType BT>
inline __m512 bcast_b(const void* b, int64_t i) {
    if constexpr (BT == DType::f32) {
        return _mm512_set1_ps(static_cast<const float*>(b)[i]);
    } else {  // bf16: the high half of an f32
        return _mm512_castsi512_ps(
            _mm512_set1_epi32(int32_t(uint32_t(static_cast<const uint16_t*>(b)[i]) << 16)));
    }
}

template <DType BT, int J, int NV>
void tile(const float* ap, const void* b, int64_t ldb, float* acc_io, int64_t k0, int64_t k1, bool first) {
    __m512 acc[J][NV];
#pragma GCC unroll 8
    for (int j = 0; j < J; j++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[j][v] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(acc_io + j * 64 + 16 * v);
    for (int64_t k = k0; k < k1; k++) {
        __m512 a[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) a[v] = _mm512_loadu_ps(ap + k * 64 + 16 * v);
#pragma GCC unroll 8
        for (int j = 0; j < J; j++) {
            const __m512 w = bcast_b<BT>(b, j * ldb + k);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[j][v] = _mm512_fmadd_ps(w, a[v], acc[j][v]);
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < J; j++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(acc_io + j * 64 + 16 * v, acc[j][v]);
}

template <DType BT, int J>
void tile_nv(int nv, const float* ap, const void* b, int64_t ldb, float* acc_io, int64_t k0, int64_t k1,
             bool first) {
    switch (nv) {
        case 4:
            tile<BT, J, 4>(ap, b, ldb, acc_io, k0, k1, first);
            break;
        case 3:
            tile<BT, J, 3>(ap, b, ldb, acc_io, k0, k1, first);
            break;
        case 2:
            tile<BT, J, 2>(ap, b, ldb, acc_io, k0, k1, first);
            break;
        default:
            tile<BT, J, 1>(ap, b, ldb, acc_io, k0, k1, first);
            break;
    }
}

template <DType BT>
void tile_any(int j, int nv, const float* ap, const void* b, int64_t ldb, float* acc_io, int64_t k0,
              int64_t k1, bool first) {
    switch (j) {
        case 6:
            tile_nv<BT, 6>(nv, ap, b, ldb, acc_io, k0, k1, first);
            break;
        case 5:
            tile_nv<BT, 5>(nv, ap, b, ldb, acc_io, k0, k1, first);
            break;
        case 4:
            tile_nv<BT, 4>(nv, ap, b, ldb, acc_io, k0, k1, first);
            break;
        case 3:
            tile_nv<BT, 3>(nv, ap, b, ldb, acc_io, k0, k1, first);
            break;
        case 2:
            tile_nv<BT, 2>(nv, ap, b, ldb, acc_io, k0, k1, first);
            break;
        default:
            tile_nv<BT, 1>(nv, ap, b, ldb, acc_io, k0, k1, first);
            break;
    }
}

// Ap[mp][k][l] = A[64·mp + l][k] (0 past M) for k in [k0, k1).
void pack_panel(const GemmProblem& p, int64_t mp, int64_t k0, int64_t k1, float* Ap) {
    const __m512i idx =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32(int32_t(p.lda)));
    float* dst = Ap + mp * p.K * 64;
    for (int v = 0; v < 4; v++) {
        const int64_t m0 = mp * 64 + 16 * v;
        const int64_t rows = std::min<int64_t>(16, p.M - m0);
        if (rows <= 0) {
            for (int64_t k = k0; k < k1; k++) _mm512_storeu_ps(dst + k * 64 + 16 * v, _mm512_setzero_ps());
            continue;
        }
        const __mmask16 m = rows >= 16 ? __mmask16(0xffff) : __mmask16((1u << rows) - 1);
        const float* src = p.a + m0 * p.lda;
        for (int64_t k = k0; k < k1; k++)
            _mm512_storeu_ps(dst + k * 64 + 16 * v,
                             _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, src + k, 4));
    }
}

}  // namespace

void gemm_f32_packed_avx512(ThreadPool& pool, const GemmProblem& p) {
    if (p.M <= 0 || p.N <= 0) return;
    const int64_t MP = (p.M + 63) / 64, KB = (p.K + 255) / 256;
    static thread_local std::vector<float> ap_buf;
    if (ap_buf.size() < size_t(MP * p.K * 64)) ap_buf.resize(size_t(MP * p.K * 64));
    float* Ap = ap_buf.data();
    pool.parallel_for(MP * KB, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; i++)
            pack_panel(p, i / KB, (i % KB) * 256, std::min(p.K, (i % KB + 1) * 256), Ap);
    });
    const int64_t esize = p.btype == DType::f32 ? 4 : 2;
    const char* B = static_cast<const char*>(p.b);
    const bool bf16 = p.btype == DType::bf16;
    const int64_t NB = (p.N + kJ - 1) / kJ;
    const int64_t chunks_wanted = int64_t(pool.size()) * 4;
    const int64_t grain =
        std::max<int64_t>(1, std::min<int64_t>(64, (NB + chunks_wanted - 1) / chunks_wanted));
    pool.parallel_for(NB, grain, [&](int64_t b0, int64_t b1) {
        static thread_local std::vector<float> acc_buf;
        const int64_t nb = b1 - b0;
        if (acc_buf.size() < size_t(nb * MP * kJ * 64)) acc_buf.resize(size_t(nb * MP * kJ * 64));
        float* acc = acc_buf.data();  // [nb][MP][6][64]
        for (int64_t k0 = 0; k0 < p.K; k0 += kKC) {
            const int64_t k1 = std::min(p.K, k0 + kKC);
            for (int64_t mp = 0; mp < MP; mp++) {
                const int nv = int(std::min<int64_t>(4, (p.M - mp * 64 + 15) / 16));
                const float* ap = Ap + mp * p.K * 64;
                for (int64_t bi = b0; bi < b1; bi++) {
                    const int64_t n = bi * kJ;
                    const int j = int(std::min<int64_t>(kJ, p.N - n));
                    float* t = acc + ((bi - b0) * MP + mp) * kJ * 64;
                    if (bf16)
                        tile_any<DType::bf16>(j, nv, ap, B + n * p.ldb * esize, p.ldb, t, k0, k1, k0 == 0);
                    else
                        tile_any<DType::f32>(j, nv, ap, B + n * p.ldb * esize, p.ldb, t, k0, k1, k0 == 0);
                }
            }
        }
        for (int64_t bi = b0; bi < b1; bi++) {
            const int64_t n = bi * kJ;
            const int j = int(std::min<int64_t>(kJ, p.N - n));
            for (int64_t mp = 0; mp < MP; mp++) {
                const float* t = acc + ((bi - b0) * MP + mp) * kJ * 64;
                const int64_t rows = std::min<int64_t>(64, p.M - mp * 64);
                for (int64_t l = 0; l < rows; l++) {
                    float* c = p.c + (mp * 64 + l) * p.ldc + n;
                    for (int jj = 0; jj < j; jj++) {
                        const float bias = p.bias ? p.bias[n + jj] : 0.0f;
                        c[jj] = (p.accumulate ? c[jj] : 0.0f) + (t[jj * 64 + l] + bias);
                    }
                }
            }
        }
    });
}

}  // namespace janus::cpu

#pragma GCC diagnostic pop
#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
