// Internal direct-convolution kernel for the hot conv2d case (3×3, stride 1, zero padding 1 on
// every side — the VQ decoder's convolutions): one output row of one image per call, all output
// channels, from a zero-padded copy of the input. Output pixels run along vector lanes, weights are
// broadcast; every output element sums over (ci, r, s) in that fixed order, so results do not depend
// on the row partition. Chosen by cpuid (AVX-512 only; others use im2col + GEMM in cpu_conv.cpp).
#pragma once
#include <cstdint>

namespace janus::cpu {

struct Conv3x3Args {
    const float* xpad = nullptr;  // [Ci, H + 2, Wp] one image, zero border of 1
    int64_t Wp = 0;               // padded row length (>= W + 2)
    const float* wpack = nullptr; // [ceil(Co / 6), Ci, 9, 6] weights, channel blocks of 6 (zero-filled)
    const float* bias = nullptr;  // [Co] or null
    float* y = nullptr;           // [Co, H, W] one image
    int64_t Ci = 0, Co = 0, H = 0, W = 0;
};

constexpr int kConvCoBlock = 6;

using Conv3x3RowFn = void (*)(const Conv3x3Args& a, int64_t oh);
Conv3x3RowFn conv3x3_row_kernel();  // nullptr when this CPU has no fast path
Conv3x3RowFn conv3x3_row_kernel_avx512();

}  // namespace janus::cpu
