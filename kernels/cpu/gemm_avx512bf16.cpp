// AVX-512-BF16 GEMM kernel (vdpbf16ps) for bf16 weights with the activations rounded to bf16
// (MatmulPrecision::bf16): C[M, N] (=|+=) A_bf16[M, K] · B_bf16[N, K]ᵀ (+ bias), f32 accumulation.
// A arrives packed with rows zero-padded to a multiple of 32 (cpu_matmul.cpp); B's K tail is read
// with masked loads. Each zmm accumulator holds 16 lanes, lane l summing the pairs k = 32s + 2l,
// 2l + 1; the final reduction tree is fixed, so every element gets the same arithmetic in any tile
// (thread-count independent). Tiles: MR A rows × NR weight rows; blocks of 60 A rows stay in L2.
// Compiled with a target pragma, reached only through gemm.cpp's cpuid dispatch; the only header
// helpers it uses (simd_math_avx512.h: reduce16) have internal linkage.
#include <immintrin.h>

#include "kernels/cpu/gemm.h"

#pragma GCC push_options
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 false positives inside _mm512_cvtepu16_epi32
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")
#ifdef __clang__  // clang ignores GCC target pragmas: same features per function
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma"))), apply_to = function)
#endif

#include "kernels/cpu/simd_math_avx512.h"

namespace janus::cpu {

namespace {

constexpr int kMaxMR = 6, kMaxNR = 4;
constexpr int64_t kMBlock = 60;

template <int MR, int NR>
void tile_dot(const GemmProblem& p, int64_t m0, int64_t n0) {
    __m512 acc[MR][NR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_ps();
    const int64_t K = p.K;
    const uint16_t* a = p.a_bf16 + m0 * p.lda_bf16;
    const uint16_t* b = static_cast<const uint16_t*>(p.b) + n0 * p.ldb;
    int64_t k = 0;
    for (; k + 32 <= K; k += 32) {
        __m512bh bv[NR];
#pragma GCC unroll 8
        for (int j = 0; j < NR; j++) bv[j] = (__m512bh)_mm512_loadu_si512(b + j * p.ldb + k);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m512bh av = (__m512bh)_mm512_loadu_si512(a + i * p.lda_bf16 + k);
#pragma GCC unroll 8
            for (int j = 0; j < NR; j++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av, bv[j]);
        }
    }
    if (k < K) {
        __mmask32 mask = __mmask32((uint64_t(1) << (K - k)) - 1);
        __m512bh bv[NR];
#pragma GCC unroll 8
        for (int j = 0; j < NR; j++) bv[j] = (__m512bh)_mm512_maskz_loadu_epi16(mask, b + j * p.ldb + k);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m512bh av = (__m512bh)_mm512_loadu_si512(a + i * p.lda_bf16 + k);  // zero-padded
#pragma GCC unroll 8
            for (int j = 0; j < NR; j++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av, bv[j]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int j = 0; j < NR; j++) {
            float* c = p.c + (m0 + i) * p.ldc + n0 + j;
            float bias = p.bias ? p.bias[n0 + j] : 0.0f;
            *c = (p.accumulate ? *c : 0.0f) + (reduce16(acc[i][j]) + bias);
        }
}

template <int NR>
void tile_dot_mr(const GemmProblem& p, int64_t m0, int mr, int64_t n0) {
    switch (mr) {
        case 6: tile_dot<6, NR>(p, m0, n0); break;
        case 5: tile_dot<5, NR>(p, m0, n0); break;
        case 4: tile_dot<4, NR>(p, m0, n0); break;
        case 3: tile_dot<3, NR>(p, m0, n0); break;
        case 2: tile_dot<2, NR>(p, m0, n0); break;
        default: tile_dot<1, NR>(p, m0, n0); break;
    }
}

void kernel_dot(const GemmProblem& p, int64_t n0, int64_t n1) {
    if (p.M == 1) {
        int64_t n = n0;
        for (; n + 8 <= n1; n += 8) tile_dot<1, 8>(p, 0, n);
        for (; n + 4 <= n1; n += 4) tile_dot<1, 4>(p, 0, n);
        for (; n < n1; n++) tile_dot<1, 1>(p, 0, n);
        return;
    }
    if (int64_t(kMaxMR) * p.K * 2 <= 24 * 1024) {
        // The A tile (6 rows, ≤ 24 KiB) fits L1: keep it there and stream the chunk's weight tiles
        // from L2 — 4 new cache lines per k-step instead of 10 (measured +12-17% at K = 2048).
        for (int64_t m = 0; m < p.M; m += kMaxMR) {
            const int mr = int(p.M - m < kMaxMR ? p.M - m : kMaxMR);
            int64_t n = n0;
            for (; n + kMaxNR <= n1; n += kMaxNR) tile_dot_mr<kMaxNR>(p, m, mr, n);
            for (; n < n1; n++) tile_dot_mr<1>(p, m, mr, n);
        }
        return;
    }
    // Longer K: weight tile outer (in L1), blocks of 60 A rows (in L2) inner.
    for (int64_t mb = 0; mb < p.M; mb += kMBlock) {
        int64_t me = mb + kMBlock < p.M ? mb + kMBlock : p.M;
        int64_t n = n0;
        for (; n + kMaxNR <= n1; n += kMaxNR)
            for (int64_t m = mb; m < me; m += kMaxMR)
                tile_dot_mr<kMaxNR>(p, m, int(me - m < kMaxMR ? me - m : kMaxMR), n);
        for (; n < n1; n++)
            for (int64_t m = mb; m < me; m += kMaxMR) tile_dot_mr<1>(p, m, int(me - m < kMaxMR ? me - m : kMaxMR), n);
    }
}

}  // namespace

GemmKernel gemm_kernel_avx512_bf16dot() { return kernel_dot; }

}  // namespace janus::cpu

#pragma GCC diagnostic pop
#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
