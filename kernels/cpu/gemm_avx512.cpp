// AVX-512F GEMM kernels for C[M, N] (=|+=) A[M, K] · B[N, K]ᵀ (+ bias) with B in f32/bf16/f16
// (see gemm.h). Register tiles of MR rows of A × NR rows of B keep MR·NR zmm accumulators that each
// hold 16 partial sums over K (lane l sums k ≡ l mod 16); after the K loop every accumulator is
// reduced with the same fixed tree. Every element therefore sees the same arithmetic whatever tile
// it lands in, which is what makes results independent of the thread partition. K tails use masked
// loads (zeros). B rows are converted to f32 once per k-step and reused by all MR rows of A.
// Loop order per call: blocks of 64 A rows (kept in L2) × tiles of NR weight rows (kept in L1).
//
// This file is compiled for AVX-512 via a target pragma and only reached through the cpuid dispatch
// in gemm.cpp. It deliberately uses no inline functions from library headers (whose AVX-512 copies
// could otherwise be picked by the linker for baseline code).
#include <immintrin.h>

#include "kernels/cpu/gemm.h"

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

constexpr int kMaxMR = 6, kMaxNR = 4;
constexpr int64_t kMBlock = 60;  // multiple of kMaxMR

template <DType BT>
inline __m512 load_b(const void* base, int64_t off) {
    if constexpr (BT == DType::f32) {
        return _mm512_loadu_ps(static_cast<const float*>(base) + off);
    } else if constexpr (BT == DType::bf16) {
        __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + off));
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else {
        __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + off));
        return _mm512_cvtph_ps(h);
    }
}

template <DType BT>
inline __m512 load_b_mask(const void* base, int64_t off, __mmask16 m) {
    if constexpr (BT == DType::f32) {
        return _mm512_maskz_loadu_ps(m, static_cast<const float*>(base) + off);
    } else if constexpr (BT == DType::bf16) {
        __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(base) + off);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else {
        __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(base) + off);
        return _mm512_cvtph_ps(h);
    }
}

inline void store_tile_value(const GemmProblem& p, int64_t m, int64_t n, float sum) {
    float* c = p.c + m * p.ldc + n;
    float b = p.bias ? p.bias[n] : 0.0f;
    *c = (p.accumulate ? *c : 0.0f) + (sum + b);
}

template <DType BT, int MR, int NR>
void tile_fma(const GemmProblem& p, int64_t m0, int64_t n0) {
    __m512 acc[MR][NR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_ps();
    const int64_t K = p.K;
    const float* a = p.a + m0 * p.lda;
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512 b[NR];
#pragma GCC unroll 8
        for (int j = 0; j < NR; j++) b[j] = load_b<BT>(p.b, (n0 + j) * p.ldb + k);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m512 av = _mm512_loadu_ps(a + i * p.lda + k);
#pragma GCC unroll 8
            for (int j = 0; j < NR; j++) acc[i][j] = _mm512_fmadd_ps(av, b[j], acc[i][j]);
        }
    }
    if (k < K) {
        __mmask16 mask = __mmask16((1u << (K - k)) - 1);
        __m512 b[NR];
#pragma GCC unroll 8
        for (int j = 0; j < NR; j++) b[j] = load_b_mask<BT>(p.b, (n0 + j) * p.ldb + k, mask);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m512 av = _mm512_maskz_loadu_ps(mask, a + i * p.lda + k);
#pragma GCC unroll 8
            for (int j = 0; j < NR; j++) acc[i][j] = _mm512_fmadd_ps(av, b[j], acc[i][j]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int j = 0; j < NR; j++) store_tile_value(p, m0 + i, n0 + j, reduce16(acc[i][j]));
}

// GEMV (M = 1): eight weight rows in flight (eight page streams), and the next eight rows of the
// chunk prefetched at the same K offset one block ahead, so DRAM never waits for the hardware
// prefetchers to re-detect streams at a block boundary. Same arithmetic as tile_fma<BT, 1, 8>.
#ifndef JANUS_GEMV_PREFETCH
#define JANUS_GEMV_PREFETCH 1
#endif
template <DType BT>
void gemv_rows8(const GemmProblem& p, int64_t n0, bool prefetch_next) {
    constexpr int64_t esize = BT == DType::f32 ? 4 : 2;
    __m512 acc[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) acc[j] = _mm512_setzero_ps();
    const int64_t K = p.K;
    const char* next = static_cast<const char*>(p.b) + (n0 + 8) * p.ldb * esize;
    const int64_t row_bytes = p.ldb * esize;
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        if (JANUS_GEMV_PREFETCH && prefetch_next && ((k * esize) & 63) == 0) {
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) _mm_prefetch(next + j * row_bytes + k * esize, _MM_HINT_T0);
        }
        __m512 av = _mm512_loadu_ps(p.a + k);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) acc[j] = _mm512_fmadd_ps(av, load_b<BT>(p.b, (n0 + j) * p.ldb + k), acc[j]);
    }
    if (k < K) {
        __mmask16 mask = __mmask16((1u << (K - k)) - 1);
        __m512 av = _mm512_maskz_loadu_ps(mask, p.a + k);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            acc[j] = _mm512_fmadd_ps(av, load_b_mask<BT>(p.b, (n0 + j) * p.ldb + k, mask), acc[j]);
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) store_tile_value(p, 0, n0 + j, reduce16(acc[j]));
}

template <DType BT, int NR>
void tile_fma_mr(const GemmProblem& p, int64_t m0, int mr, int64_t n0) {
    switch (mr) {
        case 6: tile_fma<BT, 6, NR>(p, m0, n0); break;
        case 5: tile_fma<BT, 5, NR>(p, m0, n0); break;
        case 4: tile_fma<BT, 4, NR>(p, m0, n0); break;
        case 3: tile_fma<BT, 3, NR>(p, m0, n0); break;
        case 2: tile_fma<BT, 2, NR>(p, m0, n0); break;
        default: tile_fma<BT, 1, NR>(p, m0, n0); break;
    }
}

template <DType BT>
void kernel_fma(const GemmProblem& p, int64_t n0, int64_t n1) {
    if (p.M == 1) {
        int64_t n = n0;
        for (; n + 8 <= n1; n += 8) gemv_rows8<BT>(p, n, n + 16 <= n1);
        for (; n + 4 <= n1; n += 4) tile_fma<BT, 1, 4>(p, 0, n);
        for (; n < n1; n++) tile_fma<BT, 1, 1>(p, 0, n);
        return;
    }
    for (int64_t mb = 0; mb < p.M; mb += kMBlock) {
        int64_t me = mb + kMBlock < p.M ? mb + kMBlock : p.M;
        int64_t n = n0;
        for (; n + kMaxNR <= n1; n += kMaxNR)
            for (int64_t m = mb; m < me; m += kMaxMR)
                tile_fma_mr<BT, kMaxNR>(p, m, int(me - m < kMaxMR ? me - m : kMaxMR), n);
        for (; n < n1; n++)
            for (int64_t m = mb; m < me; m += kMaxMR)
                tile_fma_mr<BT, 1>(p, m, int(me - m < kMaxMR ? me - m : kMaxMR), n);
    }
}

}  // namespace

GemmKernel gemm_kernel_avx512(DType btype) {
    switch (btype) {
        case DType::f32: return kernel_fma<DType::f32>;
        case DType::bf16: return kernel_fma<DType::bf16>;
        case DType::f16: return kernel_fma<DType::f16>;
        default: return nullptr;
    }
}

}  // namespace janus::cpu

#pragma GCC diagnostic pop
#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
