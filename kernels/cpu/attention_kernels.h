// Internal attention row kernels: one (query i, head h) of out[Tq, H, Dh] per call (see
// cpu_attention.cpp for the op's contract). scratch holds Tk + 2·Dh floats.
#pragma once
#include <cstdint>

#include "kernels/dtype.h"

namespace janus::cpu {

struct AttentionArgs {
    const float* q = nullptr;
    const void* k = nullptr;
    const void* v = nullptr;
    DType ktype = DType::f32, vtype = DType::f32;
    float* out = nullptr;
    int64_t Tq = 0, H = 0, Hkv = 0, Dh = 0, Tk = 0;
    float scale = 1.0f;
    int64_t causal_start = -1;
};

using AttentionRowFn = void (*)(const AttentionArgs& a, int64_t i, int64_t h, float* scratch);

AttentionRowFn attention_row_kernel(DType ktype, DType vtype);  // best for this CPU
AttentionRowFn attention_row_scalar_kernel();                   // portable fallback
AttentionRowFn attention_row_kernel_avx512(DType ktype, DType vtype);
AttentionRowFn attention_row_kernel_avx2(DType ktype, DType vtype);

}  // namespace janus::cpu
