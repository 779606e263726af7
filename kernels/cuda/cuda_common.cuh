// Shared helpers for the CUDA backend's .cu files: error-checking macros that turn CUDA/cuBLAS
// failures into janus::Error, element loads from f32/bf16/f16 buffers, bf16 rounding identical to
// kernels/dtype.h, and warp/block reductions. Internal to kernels/cuda.
#pragma once
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "janus/error.h"
#include "kernels/dtype.h"

namespace janus::cuda {

// Throws janus::Error("cuda: <what> failed at <file>:<line>: <reason>") for any error code.
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* what, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t st, const char* what, const char* file, int line);

}  // namespace janus::cuda

// Wrap every CUDA runtime call: JANUS_CUDA_CHECK(cudaMemcpyAsync(...)).
#define JANUS_CUDA_CHECK(expr)                                                                  \
    do {                                                                                        \
        cudaError_t janus_err_ = (expr);                                                        \
        if (janus_err_ != cudaSuccess) ::janus::cuda::throw_cuda_error(janus_err_, #expr, __FILE__, __LINE__); \
    } while (0)
#define JANUS_CUBLAS_CHECK(expr)                                                                \
    do {                                                                                        \
        cublasStatus_t janus_st_ = (expr);                                                      \
        if (janus_st_ != CUBLAS_STATUS_SUCCESS)                                                 \
            ::janus::cuda::throw_cublas_error(janus_st_, #expr, __FILE__, __LINE__);            \
    } while (0)
// After every kernel launch: catches bad launch configurations at once (no synchronisation).
#define JANUS_CUDA_LAUNCH_CHECK(kernel_name) JANUS_CUDA_CHECK(cudaGetLastError())

namespace janus::cuda {

// ---- element access -------------------------------------------------------------------------------
// Weight/KV element types as template parameters: float, __nv_bfloat16, __half.
template <class T> __device__ __forceinline__ float to_f32(T v);
template <> __device__ __forceinline__ float to_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ float to_f32<__nv_bfloat16>(__nv_bfloat16 v) {
    return __uint_as_float(uint32_t(__bfloat16_as_ushort(v)) << 16);
}
template <> __device__ __forceinline__ float to_f32<__half>(__half v) { return __half2float(v); }

__device__ __forceinline__ float bf16_bits_to_f32(uint16_t h) { return __uint_as_float(uint32_t(h) << 16); }

// Element i of an f32/bf16/f16 buffer whose dtype is known only at run time (biases, norm weights).
__device__ __forceinline__ float load_as_f32(const void* p, DType t, int64_t i) {
    if (t == DType::bf16) return bf16_bits_to_f32(static_cast<const uint16_t*>(p)[i]);
    if (t == DType::f16) return __half2float(static_cast<const __half*>(p)[i]);
    return static_cast<const float*>(p)[i];
}

// Round-to-nearest-even to bf16, NaN kept quiet — bit for bit the host's janus::f32_to_bf16.
__device__ __forceinline__ uint16_t f32_to_bf16_bits(float f) {
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}
__device__ __forceinline__ float round_bf16_dev(float f) { return bf16_bits_to_f32(f32_to_bf16_bits(f)); }

// ---- reductions ----------------------------------------------------------------------------------
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `shared` must hold 32 floats; the function synchronises before returning so it can be reused.
__device__ __forceinline__ float block_sum(float v, float* shared) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = warp_sum(v);
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    float t = lane < nwarps ? shared[lane] : 0.0f;
    t = warp_sum(t);
    __syncthreads();
    return t;
}
// The same in double: row statistics (norms, softmax sums) are accumulated per thread in double and
// reduced in double, so their error does not grow with the row/group length (a VQ group norm sums
// ~590k values) and matches the CPU backend, which sums sequentially in double.
__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ double block_sum_d(double v, double* shared) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = warp_sum_d(v);
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    double t = lane < nwarps ? shared[lane] : 0.0;
    t = warp_sum_d(t);
    __syncthreads();
    return t;
}
__device__ __forceinline__ float block_max(float v, float* shared) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = warp_max(v);
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    float t = lane < nwarps ? shared[lane] : -INFINITY;
    t = warp_max(t);
    __syncthreads();
    return t;
}

// Grid size for a grid-stride elementwise loop of n items with `block` threads.
inline unsigned grid_for(int64_t n, int block = 256) {
    int64_t g = (n + block - 1) / block;
    if (g < 1) g = 1;
    if (g > 65535LL * 8) g = 65535LL * 8;
    return unsigned(g);
}

}  // namespace janus::cuda
