// Memory plan for text-to-image generation (see generate_internal.h for the formulas): weights +
// KV for 2 rows per image × (L + N) positions + LM step workspace + VQ decode of one image, and the
// number of images that can be in flight at once under the memory limit.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kernels/backend.h"
#include "pipelines/generate_internal.h"
#include "text/synthetic.h"

namespace janus {

namespace {

std::string gib(int64_t b) {  // GiB, or MiB / KiB / bytes for small (test) models
    char s[32];
    if (b >= int64_t(1) << 30) std::snprintf(s, sizeof s, "%.2f GiB", double(b) / double(int64_t(1) << 30));
    else if (b >= int64_t(1) << 20) std::snprintf(s, sizeof s, "%.1f MiB", double(b) / double(int64_t(1) << 20));
    else if (b >= 1024) std::snprintf(s, sizeof s, "%.1f KiB", double(b) / 1024.0);
    else std::snprintf(s, sizeof s, "%lld B", (long long)b);
    return s;
}

int64_t lm_workspace_bytes(const LmConfig& c, int64_t T) {
    return T * 4 * (3 * c.hidden + 2 * c.q_dim() + 2 * c.kv_dim() + 2 * c.intermediate);
}

int64_t vq_workspace_bytes(const vision::VqConfig& q) {
    const int64_t S = q.image_size, G = q.grid();
    const int64_t C = int64_t(q.ch) * q.decoder_ch_mult.back();
    int64_t biggest = 0, side = G;
    // channels per level from the lowest resolution up (decoder: ch·mult reversed)
    for (size_t l = 0; l < q.decoder_ch_mult.size(); ++l) {
        int64_t ch = int64_t(q.ch) * q.decoder_ch_mult[q.decoder_ch_mult.size() - 1 - l];
        int64_t prev = l == 0 ? C : int64_t(q.ch) * q.decoder_ch_mult[q.decoder_ch_mult.size() - l];
        biggest = std::max({biggest, ch * side * side, prev * side * side});
        if (l + 1 < q.decoder_ch_mult.size()) side *= 2;
    }
    biggest = std::max(biggest, 3 * S * S);
    return 3 * biggest * 4 + 5 * G * G * C * 4 + G * G * G * G * 4 + 3 * S * S * 4;
}

}  // namespace

int64_t parse_size(const std::string& text, const std::string& what) {
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(text, &used);
    } catch (...) {
        throw Error(what + ": '" + text + "' is not a size (use e.g. 20G, 512M or a byte count)");
    }
    std::string unit = text.substr(used);
    for (auto& ch : unit) ch = char(std::toupper(static_cast<unsigned char>(ch)));
    double mul = 1;
    if (unit.empty() || unit == "B") mul = 1;
    else if (unit == "K" || unit == "KB" || unit == "KIB") mul = 1024.0;
    else if (unit == "M" || unit == "MB" || unit == "MIB") mul = 1024.0 * 1024;
    else if (unit == "G" || unit == "GB" || unit == "GIB") mul = 1024.0 * 1024 * 1024;
    else if (unit == "T" || unit == "TB" || unit == "TIB") mul = 1024.0 * 1024 * 1024 * 1024;
    else throw Error(what + ": unknown unit '" + unit + "' in '" + text + "' (use K, M, G or T)");
    if (!(v > 0)) throw Error(what + ": must be positive, got '" + text + "'");
    return int64_t(v * mul);
}

int64_t detect_memory_limit(int64_t weight_bytes) {
    MemoryInfo m = cpu_backend().memory();
    const int64_t total = int64_t(double(m.total) * 0.92);
    const int64_t avail = int64_t(m.available) + weight_bytes;
    return std::min(total, avail);
}

MemoryPlan make_memory_plan(const PlanInputs& in) {
    MemoryPlan p;
    p.model = in.model;
    p.images = in.images;
    p.prompt_tokens = in.prompt_tokens;
    p.image_tokens = in.image_tokens;
    p.kv_tokens_per_row = in.prompt_tokens + in.image_tokens;
    p.weight_bytes = in.weight_bytes;
    p.kv_dtype = in.kv_dtype_bytes == 2 ? "bf16" : in.kv_dtype_bytes == 4 ? "f32" : "f16";
    p.kv_bytes_per_token = in.lm.layers * 2 * in.lm.kv_dim() * in.kv_dtype_bytes;
    const int64_t per_image = 2 * p.kv_tokens_per_row * p.kv_bytes_per_token;
    p.kv_bytes_unsplit = per_image * in.images;
    p.vq_bytes = vq_workspace_bytes(in.vq);
    p.limit_bytes = in.limit_bytes > 0 ? in.limit_bytes : detect_memory_limit(in.weight_bytes);
    auto act = [&](int imgs) {
        // prefill of every row in one step + gen_head logits/scratch + the host copy
        return lm_workspace_bytes(in.lm, 2 * imgs * in.prompt_tokens) +
               2 * imgs * (in.codebook * 4 * 2 + in.lm.hidden * 4 * 2);
    };
    int cap = in.images;
    if (in.max_images > 0) cap = std::min(cap, in.max_images);
    int fit = cap;
    while (fit > 1 && in.weight_bytes + per_image * fit + act(fit) + p.vq_bytes > p.limit_bytes) --fit;
    fit = std::max(fit, 1);
    p.passes = (in.images + fit - 1) / fit;
    p.images_per_step = (in.images + p.passes - 1) / p.passes;  // balanced: 16 → 8 + 8, not 14 + 2
    p.kv_bytes = per_image * p.images_per_step;
    p.activation_bytes = act(p.images_per_step);
    p.total_bytes = p.weight_bytes + p.kv_bytes + p.activation_bytes + p.vq_bytes;
    return p;
}

std::string MemoryPlan::to_text() const {
    std::ostringstream o;
    o << "memory plan for " << model << ": " << images << " image(s), prompt " << prompt_tokens << " tokens, "
      << image_tokens << " image tokens\n";
    o << "  weights (LM + gen head/aligner/embed + VQ decoder, mmap'd)  " << gib(weight_bytes) << "\n";
    o << "  KV cache " << kv_dtype << ": " << 2 * images_per_step << " rows x " << kv_tokens_per_row << " positions x "
      << gib(kv_bytes_per_token) << "  " << gib(kv_bytes) << "\n";
    o << "  LM step workspace + logits                                   " << gib(activation_bytes) << "\n";
    o << "  VQ decode (one image at a time)                              " << gib(vq_bytes) << "\n";
    o << "  total                                                        " << gib(total_bytes) << " of "
      << gib(limit_bytes) << " allowed\n";
    if (passes > 1)
        o << "  the KV cache of all " << images << " images (" << gib(kv_bytes_unsplit) << ") does not fit: "
          << images_per_step << " images per pass, " << passes << " passes\n";
    if (total_bytes > limit_bytes) o << "  WARNING: even one image does not fit in the limit\n";
    return o.str();
}

std::string MemoryPlan::to_json() const {
    nlohmann::json j = {{"model", model},
                        {"images", images},
                        {"images_per_step", images_per_step},
                        {"passes", passes},
                        {"prompt_tokens", prompt_tokens},
                        {"image_tokens", image_tokens},
                        {"kv_tokens_per_row", kv_tokens_per_row},
                        {"kv_dtype", kv_dtype},
                        {"weight_bytes", weight_bytes},
                        {"kv_bytes_per_token", kv_bytes_per_token},
                        {"kv_bytes", kv_bytes},
                        {"kv_bytes_unsplit", kv_bytes_unsplit},
                        {"activation_bytes", activation_bytes},
                        {"vq_bytes", vq_bytes},
                        {"total_bytes", total_bytes},
                        {"limit_bytes", limit_bytes},
                        {"fits", total_bytes <= limit_bytes}};
    return j.dump();
}

MemoryPlan plan_synthetic(const std::string& name, int images, int64_t prompt_tokens, const std::string& kv_dtype,
                          int64_t limit_bytes) {
    PlanInputs in;
    in.model = name;
    in.lm = synthetic_lm_config(name);
    in.vq = vision::VqConfig{};
    const int64_t H = in.lm.hidden;
    // facts §2.5: LM + gen_aligner + gen_embed + gen_head + VQ decoder + codebook + post_quant_conv (bf16)
    const int64_t gen = (8 * H + H + H * H + H) + 16384 * 8 + (H * H + H + 16384 * H + 16384);
    const int64_t vq_dec = 42449795 + 131072 + 2304;
    in.weight_bytes = 2 * (in.lm.parameter_count() + gen + vq_dec);
    in.kv_dtype_bytes = kv_dtype == "f32" ? 4 : 2;
    in.images = images;
    in.prompt_tokens = prompt_tokens;
    in.image_tokens = int64_t(in.vq.grid()) * in.vq.grid();
    in.limit_bytes = limit_bytes;
    return make_memory_plan(in);
}

}  // namespace janus
