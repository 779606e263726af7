// Internal attention kernels (see cpu_attention.cpp for the op's contract): row kernels, one (query i,
// head h) of out[Tq, H, Dh] per call (scratch holds Tk + 2·Dh floats); key-major group kernels; split-key
// decode kernels; tiled flash kernels.
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

// All query heads of kv heads [hk0, hk1) for query i, reading the cache key-major; scratch holds
// nh·(Tk + Dh + 1) floats, nh = (hk1 − hk0)·(H / Hkv). Same results as the row kernel per head.
using AttentionGroupFn = void (*)(const AttentionArgs& a, int64_t i, int64_t hk0, int64_t hk1, float* scratch);

// Tiled (flash-style) kernel for long non-causal problems: query rows [i0, i0 + nr), nr <= 4, of head h
// against f32 K/V of h's kv head pre-packed as kt[Dh][Tkp] (transposed) and vp[Tkp][Dhp], Tkp / Dhp =
// Tk / Dh rounded up to 16, zero padded; scratch holds 4·Dhp + 256 floats. See attention_flash_avx512.cpp.
using AttentionFlashFn = void (*)(const AttentionArgs& a, const float* kt, const float* vp, int64_t i0, int64_t nr,
                                  int64_t h, float* scratch);

// Split-key decode kernels (few query rows, long caches; see attention_decode_avx512.cpp, _avx2.cpp). chunk: one
// partial over keys [j0, j1) of query row i for all H heads into part (acc[H][Dh], m[H], l[H] =
// H·(Dh + 2) floats); scratch holds H·(kDecodeChunk + 2·Dh) floats. merge: the nchunks partials of row i, stored
// one after another in chunk order, into out row i. Chunk c covers keys [c·kDecodeChunk, (c + 1)·
// kDecodeChunk) ∩ [0, limit), independent of the thread count.
constexpr int64_t kDecodeChunk = 32;
using AttentionChunkFn = void (*)(const AttentionArgs& a, int64_t i, int64_t j0, int64_t j1, float* part,
                                  float* scratch);
using AttentionMergeFn = void (*)(const AttentionArgs& a, int64_t i, const float* parts, int64_t nchunks);
struct AttentionDecodeFns {
    AttentionChunkFn chunk = nullptr;
    AttentionMergeFn merge = nullptr;
};

AttentionRowFn attention_row_kernel(DType ktype, DType vtype);  // best for this CPU
AttentionGroupFn attention_group_kernel(DType ktype, DType vtype);  // nullptr if this CPU has none
AttentionGroupFn attention_group_kernel_avx512(DType ktype, DType vtype);
AttentionDecodeFns attention_decode_kernels(DType ktype, DType vtype, int64_t Dh);  // empty if this CPU has none
AttentionDecodeFns attention_decode_kernels_avx512(DType ktype, DType vtype, int64_t Dh);
AttentionDecodeFns attention_decode_kernels_avx2(DType ktype, DType vtype);
AttentionFlashFn attention_flash_kernel();  // nullptr if this CPU has none (needs AVX2+FMA)
AttentionFlashFn attention_flash_kernel_avx512();
AttentionFlashFn attention_flash_kernel_avx2();
AttentionRowFn attention_row_scalar_kernel();                   // portable fallback
AttentionRowFn attention_row_kernel_avx2(DType ktype, DType vtype);

}  // namespace janus::cpu
