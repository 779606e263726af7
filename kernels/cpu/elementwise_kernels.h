// Internal elementwise kernels over contiguous f32 runs, chosen by cpuid (scalar, AVX2 or AVX-512). Every
// kernel is lane-independent (vector tails are masked, never finished in scalar code), so an element's
// result does not depend on where a thread's chunk starts.
#pragma once
#include <cstdint>

namespace janus::cpu {

struct ElementwiseKernels {
    void (*silu)(const float* x, float* y, int64_t n);
    void (*gelu)(const float* x, float* y, int64_t n);                    // exact-erf GELU
    void (*swiglu)(const float* gate, const float* up, float* y, int64_t n);
    // y = (x − mean)·a + b, then y·sigmoid(y) when swish (group_norm's per-channel pass)
    void (*affine)(const float* x, float* y, int64_t n, float mean, float a, float b, bool swish);
};

const ElementwiseKernels& elementwise_kernels();
const ElementwiseKernels* elementwise_kernels_avx512();
const ElementwiseKernels* elementwise_kernels_avx2();

}  // namespace janus::cpu
