// AVX2+FMA GEMM kernels for C[M, N] (=|+=) A[M, K] · B[N, K]ᵀ (+ bias) with B in f32/bf16/f16
// (see gemm.h): the AVX-512 design (gemm_avx512.cpp) on 8-lane ymm registers — MR×NR tiles of
// accumulators each holding 8 partial sums over K, one fixed reduction tree per element, so results
// do not depend on the tile or thread partition. 16 ymm registers allow 3×3 tiles (1×4 for GEMV).
// K tails: f32 via masked loads, 16-bit types via a zero-padded copy of the tail.
// Compiled with a target pragma and reached only through gemm.cpp's cpuid dispatch; no inline
// functions from library headers are used here.
#include <immintrin.h>

#include "kernels/cpu/gemm.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#ifdef __clang__  // clang ignores GCC target pragmas: same features per function
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#endif

#include "kernels/cpu/simd_math_avx2.h"

namespace janus::cpu {

namespace {

constexpr int kMaxMR = 3, kMaxNR = 3;
constexpr int64_t kMBlock = 48;  // multiple of kMaxMR

template <DType BT>
inline __m256 load_b8(const void* base, int64_t off) {
    if constexpr (BT == DType::f32) {
        return _mm256_loadu_ps(static_cast<const float*>(base) + off);
    } else {
        __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + off));
        if constexpr (BT == DType::bf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        else return _mm256_cvtph_ps(h);
    }
}

// The K tail (r < 8 elements), zero-filled beyond r.
template <DType BT>
inline __m256 load_b8_tail(const void* base, int64_t off, int r, __m256i mask) {
    if constexpr (BT == DType::f32) {
        return _mm256_maskload_ps(static_cast<const float*>(base) + off, mask);
    } else {
        alignas(16) uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        const uint16_t* src = static_cast<const uint16_t*>(base) + off;
        for (int i = 0; i < r; i++) tmp[i] = src[i];
        __m128i h = _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
        if constexpr (BT == DType::bf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        else return _mm256_cvtph_ps(h);
    }
}

template <DType BT, int MR, int NR>
void tile(const GemmProblem& p, int64_t m0, int64_t n0) {
    __m256 acc[MR][NR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_ps();
    const int64_t K = p.K;
    const float* a = p.a + m0 * p.lda;
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 b[NR];
#pragma GCC unroll 8
        for (int j = 0; j < NR; j++) b[j] = load_b8<BT>(p.b, (n0 + j) * p.ldb + k);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_loadu_ps(a + i * p.lda + k);
#pragma GCC unroll 8
            for (int j = 0; j < NR; j++) acc[i][j] = _mm256_fmadd_ps(av, b[j], acc[i][j]);
        }
    }
    if (k < K) {
        int r = int(K - k);
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 b[NR];
#pragma GCC unroll 8
        for (int j = 0; j < NR; j++) b[j] = load_b8_tail<BT>(p.b, (n0 + j) * p.ldb + k, r, mask);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_maskload_ps(a + i * p.lda + k, mask);
#pragma GCC unroll 8
            for (int j = 0; j < NR; j++) acc[i][j] = _mm256_fmadd_ps(av, b[j], acc[i][j]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int j = 0; j < NR; j++) {
            float* c = p.c + (m0 + i) * p.ldc + n0 + j;
            float bias = p.bias ? p.bias[n0 + j] : 0.0f;
            *c = (p.accumulate ? *c : 0.0f) + (reduce8(acc[i][j]) + bias);
        }
}

template <DType BT, int NR>
void tile_mr(const GemmProblem& p, int64_t m0, int mr, int64_t n0) {
    switch (mr) {
        case 3: tile<BT, 3, NR>(p, m0, n0); break;
        case 2: tile<BT, 2, NR>(p, m0, n0); break;
        default: tile<BT, 1, NR>(p, m0, n0); break;
    }
}

template <DType BT>
void kernel(const GemmProblem& p, int64_t n0, int64_t n1) {
    if (p.M == 1) {
        int64_t n = n0;
        for (; n + 4 <= n1; n += 4) tile<BT, 1, 4>(p, 0, n);
        for (; n < n1; n++) tile<BT, 1, 1>(p, 0, n);
        return;
    }
    for (int64_t mb = 0; mb < p.M; mb += kMBlock) {
        int64_t me = mb + kMBlock < p.M ? mb + kMBlock : p.M;
        int64_t n = n0;
        for (; n + kMaxNR <= n1; n += kMaxNR)
            for (int64_t m = mb; m < me; m += kMaxMR)
                tile_mr<BT, kMaxNR>(p, m, int(me - m < kMaxMR ? me - m : kMaxMR), n);
        for (; n < n1; n++)
            for (int64_t m = mb; m < me; m += kMaxMR) tile_mr<BT, 1>(p, m, int(me - m < kMaxMR ? me - m : kMaxMR), n);
    }
}

}  // namespace

GemmKernel gemm_kernel_avx2(DType btype) {
    switch (btype) {
        case DType::f32: return kernel<DType::f32>;
        case DType::bf16: return kernel<DType::bf16>;
        case DType::f16: return kernel<DType::f16>;
        default: return nullptr;
    }
}

}  // namespace janus::cpu

#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
