// AVX2+FMA GEMM kernels (placeholder table until the SIMD kernels land): no kernel yet.
#include "kernels/cpu/gemm.h"
namespace janus::cpu {
GemmKernel gemm_kernel_avx2(DType) { return nullptr; }
}  // namespace janus::cpu
