// q8_0 / q4_0 quantization, packing and the reference dequantization (see quant.h for the layout).
#include "kernels/quant.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "janus/error.h"

namespace janus {

namespace {

void check_k(DType t, int64_t K, const std::string& what) {
    if (!dtype_is_quantized(t)) throw Error(what + ": " + dtype_name(t) + " is not a quantized type");
    if (K <= 0 || K % kQuantGroup)
        throw Error(what + ": rows of " + std::to_string(K) + " weights cannot be quantized in groups of 32 "
                    "(K must be a positive multiple of 32)");
}

// Byte offset (within a panel) and nibble of element e (0..31) of group g (0..15).
inline size_t q8_offset(int64_t g, int64_t e) { return size_t(64 * (e / 4) + 4 * g + e % 4); }
inline size_t q4_offset(int64_t g, int64_t e) { return size_t(64 * ((e % 16) / 4) + 4 * g + e % 4); }
inline bool q4_high(int64_t e) { return e >= 16; }

}  // namespace

size_t quant_row_bytes(DType t, int64_t K) {
    if (!dtype_is_quantized(t) || K <= 0) return 0;
    const int64_t Kp = quant_padded_k(K);
    return size_t(Kp / kQuantPanel) * quant_panel_bytes(t) + size_t(Kp / kQuantGroup) * 2;
}

void pack_row(DType t, const int8_t* codes, const uint16_t* scales, int64_t K, void* out) {
    check_k(t, K, "pack_row");
    const size_t bytes = quant_row_bytes(t, K);
    uint8_t* o = static_cast<uint8_t*>(out);
    std::memset(o, 0, bytes);
    const int64_t Kp = quant_padded_k(K), panels = Kp / kQuantPanel;
    for (int64_t k = 0; k < K; ++k) {
        const int64_t p = k / kQuantPanel, g = (k % kQuantPanel) / kQuantGroup, e = k % kQuantGroup;
        uint8_t* panel = o + size_t(p) * quant_panel_bytes(t);
        const int c = codes[k];
        if (t == DType::q8_0) {
            if (c < -127 || c > 127) throw Error("pack_row: q8_0 code " + std::to_string(c) + " outside [-127, 127]");
            panel[q8_offset(g, e)] = uint8_t(int8_t(c));
        } else {
            if (c < 0 || c > 15) throw Error("pack_row: q4_0 code " + std::to_string(c) + " outside [0, 15]");
            panel[q4_offset(g, e)] |= uint8_t(q4_high(e) ? c << 4 : c);
        }
    }
    // Padding groups keep code 0 and scale 0 (q4_0's code 0 is −8·0 = 0 too).
    std::memcpy(o + size_t(panels) * quant_panel_bytes(t), scales, size_t(K / kQuantGroup) * 2);
}

void unpack_row(DType t, const void* row, int64_t K, int8_t* codes, uint16_t* scales) {
    check_k(t, K, "unpack_row");
    const uint8_t* r = static_cast<const uint8_t*>(row);
    const int64_t panels = quant_padded_k(K) / kQuantPanel;
    for (int64_t k = 0; k < K; ++k) {
        const int64_t p = k / kQuantPanel, g = (k % kQuantPanel) / kQuantGroup, e = k % kQuantGroup;
        const uint8_t* panel = r + size_t(p) * quant_panel_bytes(t);
        if (t == DType::q8_0) codes[k] = int8_t(panel[q8_offset(g, e)]);
        else codes[k] = int8_t(q4_high(e) ? panel[q4_offset(g, e)] >> 4 : panel[q4_offset(g, e)] & 15);
    }
    if (scales) std::memcpy(scales, r + size_t(panels) * quant_panel_bytes(t), size_t(K / kQuantGroup) * 2);
}

void dequantize_row(DType t, const void* row, int64_t K, float* out) {
    std::vector<int8_t> codes(static_cast<size_t>(K));
    std::vector<uint16_t> scales(static_cast<size_t>(K / kQuantGroup));
    unpack_row(t, row, K, codes.data(), scales.data());
    for (int64_t k = 0; k < K; ++k) {
        const float d = f16_to_f32(scales[size_t(k / kQuantGroup)]);
        out[k] = d * float(t == DType::q8_0 ? codes[size_t(k)] : codes[size_t(k)] - 8);
    }
}

void quantize_rows(DType t, const float* w, int64_t rows, int64_t K, void* out, const std::string& what) {
    check_k(t, K, what);
    const size_t row_bytes = quant_row_bytes(t, K);
    std::vector<int8_t> codes(static_cast<size_t>(K));
    std::vector<uint16_t> scales(static_cast<size_t>(K / kQuantGroup));
    for (int64_t r = 0; r < rows; ++r) {
        const float* x = w + r * K;
        for (int64_t g = 0; g < K / kQuantGroup; ++g) {
            const float* v = x + g * kQuantGroup;
            float amax = 0, vmax = 0;  // largest magnitude, and the signed value that has it (q4_0)
            for (int64_t e = 0; e < kQuantGroup; ++e) {
                if (!std::isfinite(v[e]))
                    throw Error(what + ": row " + std::to_string(r) + ", column " + std::to_string(g * kQuantGroup + e) +
                                " holds " + std::to_string(v[e]) + " — a checkpoint with NaN or infinite weights "
                                "cannot be quantized (is the file damaged?)");
                if (std::fabs(v[e]) > amax) amax = std::fabs(v[e]), vmax = v[e];
            }
            if (amax / 127.0f > 65504.0f)
                throw Error(what + ": row " + std::to_string(r) + " has a weight of magnitude " + std::to_string(amax) +
                            ", too large for an f16 group scale — keep this tensor in bf16");
            // The scale the kernels read is the f16 one: choose codes for it.
            const uint16_t d16 = amax == 0.0f ? 0 : f32_to_f16(t == DType::q8_0 ? amax / 127.0f : vmax / -8.0f);
            const float d = f16_to_f32(d16);
            scales[size_t(g)] = d16;
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            for (int64_t e = 0; e < kQuantGroup; ++e) {
                const float q = std::nearbyint(v[e] * id);
                codes[size_t(g * kQuantGroup + e)] =
                    t == DType::q8_0 ? int8_t(std::fmin(127.0f, std::fmax(-127.0f, q)))
                                     : int8_t(std::fmin(15.0f, std::fmax(0.0f, q + 8.0f)));
            }
        }
        pack_row(t, codes.data(), scales.data(), K, static_cast<uint8_t*>(out) + size_t(r) * row_bytes);
    }
}

}  // namespace janus
