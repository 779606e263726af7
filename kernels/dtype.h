// Element types and scalar conversions (bf16/f16 <-> f32). Block-quantized types (q8_0, q4_0) are
// reserved in the enum for later; nothing implements them yet.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace janus {

enum class DType : uint8_t { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean, q8_0, q4_0 };

size_t dtype_size(DType t);          // bytes per element (block types: not element-addressable, 0)
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
