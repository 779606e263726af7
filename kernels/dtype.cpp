// dtype names/sizes and IEEE half conversions (scalar; hot paths use F16C/AVX-512 in kernels/cpu).
#include "kernels/dtype.h"

namespace janus {

size_t dtype_size(DType t) {
    switch (t) {
        case DType::f64: case DType::i64: return 8;
        case DType::f32: case DType::i32: return 4;
        case DType::f16: case DType::bf16: case DType::i16: return 2;
        case DType::i8: case DType::u8: case DType::boolean: return 1;
        case DType::q8_0: case DType::q4_0: return 0;
    }
    return 0;
}

const char* dtype_name(DType t) {
    switch (t) {
        case DType::f32: return "f32";
        case DType::f16: return "f16";
        case DType::bf16: return "bf16";
        case DType::f64: return "f64";
        case DType::i64: return "i64";
        case DType::i32: return "i32";
        case DType::i16: return "i16";
        case DType::i8: return "i8";
        case DType::u8: return "u8";
        case DType::boolean: return "bool";
        case DType::q8_0: return "q8_0";
        case DType::q4_0: return "q4_0";
    }
    return "?";
}

bool dtype_from_name(const std::string& n, DType* out) {
    static const std::pair<const char*, DType> names[] = {
        {"f32", DType::f32}, {"f16", DType::f16}, {"bf16", DType::bf16}, {"f64", DType::f64},
        {"i64", DType::i64}, {"i32", DType::i32}, {"i16", DType::i16}, {"i8", DType::i8},
        {"u8", DType::u8},   {"bool", DType::boolean}};
    for (auto& [s, t] : names)
        if (n == s) { *out = t; return true; }
    return false;
}

float f16_to_f32(uint16_t h) {
    uint32_t sign = uint32_t(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else {  // subnormal: normalise
            int e = -1;
            do { e++; man <<= 1; } while ((man & 0x400) == 0);
            u = sign | uint32_t(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | man << 13;
    } else {
        u = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

uint16_t f32_to_f16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000;
    uint32_t au = u & 0x7fffffffu;
    if (au > 0x7f800000u) return uint16_t(sign | 0x7e00);  // NaN
    if (au >= 0x477ff000u) return uint16_t(sign | 0x7c00);  // overflow -> inf (after rounding)
    if (au < 0x38800000u) {                                 // subnormal or zero in f16
        if (au < 0x33000000u) return uint16_t(sign);        // < half of smallest subnormal
        uint32_t e = au >> 23;
        uint32_t m = (au & 0x7fffff) | 0x800000;
        // value = m * 2^(e-150); f16 subnormal unit = 2^-24 -> q = m * 2^(e-126)
        uint32_t sh = 126 - e;  // right shift amount, 14..24+
        uint32_t q = m >> sh;
        uint32_t rem = m & ((1u << sh) - 1);
        uint32_t half = 1u << (sh - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return uint16_t(sign | q);
    }
    // normal
    uint32_t r = au + 0xfffu + ((au >> 13) & 1u);  // round mantissa to 10 bits
    r -= (112u << 23);
    return uint16_t(sign | (r >> 13));
}

}  // namespace janus
