// Quantized-weight GEMM for the CPU backend: C[M, N] (=|+=) A[M, K] · W[N, K]ᵀ (+ bias[N]) with W in
// q8_0 / q4_0 (kernels/quant.h). A is quantized per call to int8 codes per group of 32 (scale
// amax/127, round to nearest even) in the same panel layout as q8_0 weights, with each group's code
// sum; a group's dot product is then exact integer arithmetic, Σ_g over groups d_w·s_x·(int dot) in f32:
//   lane g of 16 (the group's index within its 512-weight panel) accumulates its groups in panel order
//   with one fused multiply-add each, and the 16 lanes are summed in lane order at the end.
// The scalar and AVX-512 VNNI kernels follow that order exactly, so they agree bit for bit, and each
// output depends only on its own row: any thread count gives the same bits.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/cpu/thread_pool.h"
#include "kernels/dtype.h"

namespace janus::cpu {

struct QuantizedRows {  // A quantized for one matmul call
    int64_t M = 0, K = 0, Kp = 0;        // Kp: K padded to the 512-weight panel
    std::vector<int8_t> codes;           // [M, Kp] in the q8_0 panel layout
    std::vector<float> scales;           // [M, Kp / 32]
    std::vector<int32_t> offset_sums;    // [M, Kp / 32] offset · Σ codes of the group (see below)
};
// `wtype` sets the offset the VNNI kernel's unsigned weight bytes carry (q8_0: 128, q4_0: 8), so the
// kernel subtracts offset · Σ x per group without a multiply per weight row.
void quantize_activations(ThreadPool& pool, const float* a, int64_t M, int64_t K, DType wtype, QuantizedRows* out);

struct QuantGemm {
    const QuantizedRows* a = nullptr;
    const uint8_t* w = nullptr;  // [N] packed rows of quant_row_bytes(wtype, K)
    DType wtype = DType::q8_0;
    int64_t N = 0;
    float* c = nullptr;          // [M, N], row stride N
    const float* bias = nullptr; // [N] or null
    bool accumulate = false;
};
using QuantKernel = void (*)(const QuantGemm& g, int64_t n0, int64_t n1);
QuantKernel quant_kernel_scalar();
QuantKernel quant_kernel_avx512vnni();  // nullptr when the CPU lacks AVX-512 VNNI (or the ISA is capped)
// Runs the best kernel over all of N on the pool.
void gemm_quant(ThreadPool& pool, const QuantGemm& g);

}  // namespace janus::cpu
