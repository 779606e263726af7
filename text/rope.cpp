// See text/rope.h. The llama3 rule follows transformers' _compute_llama3_parameters: frequencies with
// wavelength above original_max/low_freq_factor are divided by `factor`, those below
// original_max/high_freq_factor are kept, the band between is interpolated smoothly.
#include "text/rope.h"

#include <cmath>

#include "kernels/dtype.h"

namespace janus {

std::vector<float> rope_inv_freq(const LmConfig& cfg, bool round_to_bf16) {
    const int64_t half = cfg.head_dim / 2;
    std::vector<float> f(static_cast<size_t>(half));
    for (int64_t j = 0; j < half; j++) {
        // torch: 1.0 / (base ** (arange(0, dim, 2).float() / dim)) — all f32.
        float e = float(2 * j) / float(cfg.head_dim);
        f[size_t(j)] = 1.0f / std::pow(cfg.rope_theta, e);
    }
    const auto& rs = cfg.rope_scaling;
    if (rs.type == "linear") {
        for (auto& x : f) x /= rs.factor;
    } else if (rs.type == "llama3") {
        const float old_ctx = float(rs.original_max_position);
        const float low_wavelen = old_ctx / rs.low_freq_factor;
        const float high_wavelen = old_ctx / rs.high_freq_factor;
        const float pi = 3.14159265358979323846f;
        for (auto& x : f) {
            float wavelen = 2.0f * pi / x;
            float scaled = wavelen > low_wavelen ? x / rs.factor : x;
            bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
            if (medium) {
                float smooth = (old_ctx / wavelen - rs.low_freq_factor) /
                               (rs.high_freq_factor - rs.low_freq_factor);
                scaled = (1.0f - smooth) * scaled / rs.factor + smooth * scaled;
            }
            x = scaled;
        }
    }
    if (round_to_bf16)
        for (auto& x : f) x = round_bf16(x);
    return f;
}

}  // namespace janus
