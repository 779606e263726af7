// AVX-512 direct 3×3 convolution row kernel (see conv_kernels.h): register tile of 6 output channels
// × 64 output pixels (24 zmm accumulators); for each (ci, r, s) it loads 4 pixel vectors from the
// padded input row and broadcasts 6 packed weights (24 FMAs per 10 loads, all from L1/L2). Pixel
// tails use masked loads/stores. Compiled with a target pragma, reached only through the cpuid
// dispatch in conv_kernels / cpu_conv.cpp; internal linkage only.
#include "kernels/cpu/conv_kernels.h"

#pragma GCC push_options
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 false positives in masked intrinsics
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma")
#ifdef __clang__  // clang ignores GCC target pragmas: same features per function
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))), apply_to = function)
#endif

#include <immintrin.h>

namespace janus::cpu {

namespace {

inline __mmask16 lane_mask(int64_t r) { return r >= 16 ? __mmask16(0xffff) : r <= 0 ? __mmask16(0) : __mmask16((1u << r) - 1); }

template <int NV>  // pixel vectors per tile (4 = 64 pixels; fewer for the row tail)
void tile(const Conv3x3Args& a, int64_t oh, int64_t cb, int64_t ow0) {
    constexpr int CB = kConvCoBlock;
    __m512 acc[CB][NV];
#pragma GCC unroll 8
    for (int c = 0; c < CB; c++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) acc[c][v] = _mm512_setzero_ps();
    __mmask16 m[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) m[v] = lane_mask(a.W - ow0 - 16 * v);
    const int64_t plane = (a.H + 2) * a.Wp;
    const float* wp = a.wpack + cb * a.Ci * 9 * CB;
    for (int64_t ci = 0; ci < a.Ci; ci++) {
        const float* xr = a.xpad + ci * plane + oh * a.Wp + ow0;
        const float* wc = wp + ci * 9 * CB;
#pragma GCC unroll 3
        for (int r = 0; r < 3; r++)
#pragma GCC unroll 3
            for (int s = 0; s < 3; s++) {
                __m512 xv[NV];
#pragma GCC unroll 8
                for (int v = 0; v < NV; v++) xv[v] = _mm512_maskz_loadu_ps(m[v], xr + r * a.Wp + s + 16 * v);
                const float* wk = wc + (r * 3 + s) * CB;
#pragma GCC unroll 8
                for (int c = 0; c < CB; c++) {
                    __m512 wb = _mm512_set1_ps(wk[c]);
#pragma GCC unroll 8
                    for (int v = 0; v < NV; v++) acc[c][v] = _mm512_fmadd_ps(wb, xv[v], acc[c][v]);
                }
            }
    }
    const int64_t co0 = cb * CB;
#pragma GCC unroll 8
    for (int c = 0; c < CB; c++) {
        if (co0 + c >= a.Co) break;
        const __m512 b = _mm512_set1_ps(a.bias ? a.bias[co0 + c] : 0.0f);
        float* yr = a.y + ((co0 + c) * a.H + oh) * a.W + ow0;
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) _mm512_mask_storeu_ps(yr + 16 * v, m[v], _mm512_add_ps(acc[c][v], b));
    }
}

void row_kernel(const Conv3x3Args& a, int64_t oh) {
    const int64_t blocks = (a.Co + kConvCoBlock - 1) / kConvCoBlock;
    for (int64_t cb = 0; cb < blocks; cb++) {
        int64_t ow = 0;
        for (; ow + 64 <= a.W; ow += 64) tile<4>(a, oh, cb, ow);
        const int64_t rest = a.W - ow;
        if (rest > 48) tile<4>(a, oh, cb, ow);
        else if (rest > 32) tile<3>(a, oh, cb, ow);
        else if (rest > 16) tile<2>(a, oh, cb, ow);
        else if (rest > 0) tile<1>(a, oh, cb, ow);
    }
}

}  // namespace

Conv3x3RowFn conv3x3_row_kernel_avx512() { return row_kernel; }

}  // namespace janus::cpu

#pragma GCC diagnostic pop
#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
