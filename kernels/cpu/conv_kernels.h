// Internal direct-convolution kernel for the hot conv2d case (3×3, stride 1, zero padding 1 on
// every side — the VQ decoder's convolutions): one output row of one image per call, all output
// channels, from a zero-padded copy of the input. Output pixels run along vector lanes, weights are
// broadcast; every output element sums over (ci, r, s) in that fixed order, so results do not depend
// on the row partition. Chosen by cpuid (AVX-512 only; others use im2col + GEMM in cpu_conv.cpp).
// Images at least 16 wide take the Winograd F(4x4, 3x3) kernel
// instead (conv_winograd_avx512.cpp): 4x fewer multiplies, error within 2e-6·Σ|x·w| on random data.
#pragma once
#include <cstdint>

#include "kernels/cpu/thread_pool.h"

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

// Winograd F(4x4, 3x3), stride 1, pad 1: y[N, Co, H, W] from x[N, Ci, H, W], w f32 [Co, Ci, 3, 3],
// bias [Co] or null. Deterministic for any thread count. AVX-512 only (caller checks the ISA).
void conv3x3_winograd_avx512(ThreadPool& pool, const float* x, const float* w, const float* bias, float* y, int64_t N,
                             int64_t Ci, int64_t Co, int64_t H, int64_t W);
// True when the Winograd kernel is used for a 3x3/s1/p1 conv of width W on this CPU (AVX-512 and
// W >= 16; JANUS_CONV_WINOGRAD=0 in the environment turns it off, for before/after measurements).
bool use_conv3x3_winograd(int64_t W);

}  // namespace janus::cpu
