// Internal GEMM for the CPU backend: C[M, N] (=|+=) A[M, K] · B[N, K]ᵀ (+ bias[N]), A f32 activations,
// B weights in f32/bf16/f16 (both K-contiguous, the "NT" layout of y = x·Wᵀ). Kernels compute a
// column range [n0, n1) for all M rows; the driver partitions N over the thread pool. Each output
// element is reduced over K in a fixed order that does not depend on the range it falls in, so the
// result is bitwise the same for any thread count. Kernels exist for scalar, AVX2+FMA, AVX-512F and
// AVX-512-BF16 (vdpbf16ps, used when A is rounded to bf16 and B is bf16); chosen by cpuid at runtime.
#pragma once
#include <cstdint>

#include "kernels/dtype.h"
#include "kernels/cpu/thread_pool.h"

namespace janus::cpu {

struct GemmProblem {
    int64_t M = 0, N = 0, K = 0;
    const float* a = nullptr;          // [M, K], row stride lda
    int64_t lda = 0;
    const uint16_t* a_bf16 = nullptr;  // A as bf16 (row stride lda_bf16), only for the bf16-dot kernel
    int64_t lda_bf16 = 0;
    const void* b = nullptr;           // [N, K], row stride ldb elements
    DType btype = DType::f32;
    int64_t ldb = 0;
    float* c = nullptr;                // [M, N], row stride ldc
    int64_t ldc = 0;
    const float* bias = nullptr;       // [N] or null
    bool accumulate = false;
};

using GemmKernel = void (*)(const GemmProblem& p, int64_t n0, int64_t n1);

// The kernel for B's dtype on this CPU; bf16_dot selects the vdpbf16ps kernel (needs a_bf16 and
// btype bf16) when the CPU has it — returns nullptr when it does not.
GemmKernel gemm_kernel(DType btype, bool bf16_dot);
// True when gemm_kernel(bf16, true) exists on this CPU.
bool have_bf16_dot();
// Run `kernel` over all of N on the pool (or, for the AVX-512 f32/bf16 kernels and M >= 32, the packed
// kernel below, which has the same contract).
void gemm(ThreadPool& pool, const GemmProblem& p, GemmKernel kernel);

// Per-ISA kernel tables (gemm_scalar.cpp, gemm_avx2.cpp, gemm_avx512.cpp).
GemmKernel gemm_kernel_scalar(DType btype);
GemmKernel gemm_kernel_avx2(DType btype);
GemmKernel gemm_kernel_avx512(DType btype);
GemmKernel gemm_kernel_avx512_bf16dot();
// f32/bf16 weights with f32 activations, M >= 32 rows on AVX-512: packed-Aᵀ broadcast kernel (gemm_packed_avx512.cpp); gemm()
// chooses it by itself (JANUS_GEMM_PACKED=0 in the environment turns it off).
void gemm_f32_packed_avx512(ThreadPool& pool, const GemmProblem& p);

}  // namespace janus::cpu
