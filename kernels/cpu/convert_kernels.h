// Internal bulk dtype conversions over contiguous runs, chosen by cpuid (scalar or AVX-512). All are
// exact and bitwise equal to the scalar conversions in kernels/dtype.h (round-to-nearest-even, NaN
// kept quiet, subnormals kept), so results never depend on which path or chunk handled an element.
#pragma once
#include <cstdint>

namespace janus::cpu {

struct ConvertKernels {
    void (*f32_to_bf16)(const float* x, uint16_t* y, int64_t n);
    void (*f32_to_f16)(const float* x, uint16_t* y, int64_t n);
    void (*bf16_to_f32)(const uint16_t* x, float* y, int64_t n);
    void (*f16_to_f32)(const uint16_t* x, float* y, int64_t n);
    void (*round_bf16)(const float* x, float* y, int64_t n);  // y may be x
};

const ConvertKernels& convert_kernels();
const ConvertKernels* convert_kernels_avx512();

}  // namespace janus::cpu
