// Quantized weights q8_0 / q4_0: symmetric codes with one f16 scale per group of 32 consecutive
// weights of a row (w ≈ d·q; q8_0: q ∈ [−127, 127]; q4_0: q = nibble − 8 ∈ [−8, 7], the GGUF Q8_0 /
// Q4_0 value definitions). docs/quantization.md has the byte layouts; in short, per row of K weights
// (K a multiple of 32, padded with zero groups to Kp = a multiple of 512):
//   Kp/512 panels of 16 groups, then Kp/32 f16 scales (zero for the padding groups).
//   q8_0 panel (512 B): byte 64·j + 4·g + t = q of group g, element 4·j + t        (j = 0..7)
//   q4_0 panel (256 B): byte 64·r + 4·g + t = low nibble: q+8 of group g, element 4·r + t,
//                                              high nibble: q+8 of group g, element 16 + 4·r + t (r = 0..3)
// so that one 64-byte load holds the same 4-element slice of 16 groups: vpdpbusd then sums whole groups
// per 32-bit lane (kernels/cpu/gemm_quant_avx512.cpp). Quantization is round-to-nearest with the scale
// rounded to f16 first (the codes are chosen for the scale the kernels read).
#pragma once
#include <cstdint>
#include <string>

#include "kernels/dtype.h"

namespace janus {

constexpr int64_t kQuantGroup = 32;   // weights per scale
constexpr int64_t kQuantPanel = 512;  // weights per panel (16 groups)

inline int64_t quant_padded_k(int64_t K) { return (K + kQuantPanel - 1) / kQuantPanel * kQuantPanel; }
inline size_t quant_panel_bytes(DType t) { return t == DType::q8_0 ? 512 : 256; }

// Quantizes `rows` rows of K f32 weights into the packed layout (quant_row_bytes(t, K) bytes per row).
// Throws janus::Error naming `what` and the row when a weight is NaN or infinite, or K % 32 != 0.
void quantize_rows(DType t, const float* w, int64_t rows, int64_t K, void* out, const std::string& what);
// The f32 values one packed row stands for (what the kernels multiply with).
void dequantize_row(DType t, const void* row, int64_t K, float* out);

// The planar form (one code per weight as int8, q4_0 as q + 8 in 0..15; scales f16 [K/32]) <-> packed.
// Planar is what `janus quantize` writes and GGUF blocks unpack to; pack checks the code ranges.
void pack_row(DType t, const int8_t* codes, const uint16_t* scales_f16, int64_t K, void* out);
void unpack_row(DType t, const void* row, int64_t K, int8_t* codes, uint16_t* scales_f16);

}  // namespace janus
