// AVX-512 GEMM kernels (placeholder table until the SIMD kernels land): no kernel yet.
#include "kernels/cpu/gemm.h"
namespace janus::cpu {
GemmKernel gemm_kernel_avx512(DType) { return nullptr; }
GemmKernel gemm_kernel_avx512_bf16dot() { return nullptr; }
}  // namespace janus::cpu
