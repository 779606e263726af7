// Portable elementwise kernels (see elementwise_kernels.h) and the cpuid choice between them and the
// AVX2 / AVX-512 ones.
#include <cmath>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/elementwise_kernels.h"

namespace janus::cpu {

namespace {

void silu_scalar(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + std::exp(-x[i]));
}
void gelu_scalar(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}
void swiglu_scalar(const float* g, const float* u, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}
void affine_scalar(const float* x, float* y, int64_t n, float mean, float a, float b, bool swish) {
    for (int64_t i = 0; i < n; i++) {
        float o = (x[i] - mean) * a + b;
        y[i] = swish ? o / (1.0f + std::exp(-o)) : o;
    }
}

const ElementwiseKernels kScalar{silu_scalar, gelu_scalar, swiglu_scalar, affine_scalar};

}  // namespace

const ElementwiseKernels& elementwise_kernels() {
    static const ElementwiseKernels* k = [] {
        if (best_isa() >= IsaLevel::avx512)
            return elementwise_kernels_avx512();
        if (best_isa() >= IsaLevel::avx2) return elementwise_kernels_avx2();
        return &kScalar;
    }();
    return *k;
}

}  // namespace janus::cpu
