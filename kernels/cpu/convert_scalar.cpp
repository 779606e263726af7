// Portable bulk conversions (see convert_kernels.h) built on kernels/dtype.h, and the cpuid choice
// between them and the AVX-512 ones.
#include "kernels/cpu/convert_kernels.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/dtype.h"

namespace janus::cpu {

namespace {

void f32_to_bf16_scalar(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = f32_to_bf16(x[i]);
}
void f32_to_f16_scalar(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = f32_to_f16(x[i]);
}
void bf16_to_f32_scalar(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = bf16_to_f32(x[i]);
}
void f16_to_f32_scalar(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = f16_to_f32(x[i]);
}
void round_bf16_scalar(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = round_bf16(x[i]);
}

const ConvertKernels kScalar{f32_to_bf16_scalar, f32_to_f16_scalar, bf16_to_f32_scalar, f16_to_f32_scalar,
                             round_bf16_scalar};

}  // namespace

const ConvertKernels& convert_kernels() {
    static const ConvertKernels* k = best_isa() >= IsaLevel::avx512 ? convert_kernels_avx512() : &kScalar;
    return *k;
}

}  // namespace janus::cpu
