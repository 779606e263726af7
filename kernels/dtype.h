// Element types and scalar conversions (bf16/f16 <-> f32). q8_0 / q4_0 are quantized weights: 8-bit
// or 4-bit codes with one f16 scale per 32 consecutive weights of a row, stored per row in packed SIMD
// panels (kernels/quant.h has the byte layout); only whole rows are addressable.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace janus {

enum class DType : uint8_t { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean, q8_0, q4_0 };

size_t dtype_size(DType t);          // bytes per element (block types: not element-addressable, 0)
inline bool dtype_is_quantized(DType t) { return t == DType::q8_0 || t == DType::q4_0; }
// Bytes of one row of K weights of a quantized type (kernels/quant.cpp); 0 for other types.
size_t quant_row_bytes(DType t, int64_t K);
// Bytes of `numel` elements whose last dimension is `last_dim` (quantized types: whole rows).
inline size_t dtype_nbytes(DType t, int64_t numel, int64_t last_dim) {
    if (dtype_is_quantized(t)) return last_dim > 0 ? size_t(numel / last_dim) * quant_row_bytes(t, last_dim) : 0;
    return size_t(numel) * dtype_size(t);
}
const char* dtype_name(DType t);     // "f32", "bf16", ...
bool dtype_from_name(const std::string& name, DType* out);
inline bool dtype_is_float(DType t) {
    return t == DType::f32 || t == DType::f16 || t == DType::bf16 || t == DType::f64;
}

// bf16: the top 16 bits of an IEEE f32. Round-to-nearest-even, NaN kept quiet (as torch does).
inline float bf16_to_f32(uint16_t h) {
    uint32_t u = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}
inline float round_bf16(float f) { return bf16_to_f32(f32_to_bf16(f)); }

// IEEE half precision, round-to-nearest-even, with subnormals, inf and NaN.
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

}  // namespace janus
