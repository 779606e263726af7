// VQ-16, the Janus image tokenizer (LlamaGen VQModel; facts §1.5, §5.5, §6.4), through the Backend
// op table only. One image at a time, so a 16-image batch never holds 16 full-resolution activations.
//
// Decode:  codes [G·G] → L2-normalised codebook rows (host, f32) → z [1, D, G, G]
//          → post_quant_conv 1×1 (D → z_channels) → conv_in 3×3 → mid (Res, Attn, Res)
//          → levels 0..L−1: (num_res_blocks + 1) × Res [+ Attn at level 0], nearest-2× + conv 3×3
//            after every level but the last → GroupNorm(32, 1e−6) + swish → conv_out 3×3 → [1, 3, S, S]
// Encode:  [1, 3, S, S] → conv_in → levels: num_res_blocks × Res [+ Attn at the last level],
//          pad (0,1,0,1) + conv 3×3 stride 2 after every level but the last → mid → GN + swish
//          → conv_out (→ z_channels) → quant_conv 1×1 (→ D) → per position: nearest L2-normalised
//          codebook row of the L2-normalised latent → codes [G·G] (raster order).
// ResBlock: h = conv2(swish(GN2(conv1(swish(GN1(x)))))); out = (nin_shortcut(x) | x) + h.
// AttnBlock: single head over the H·W positions with dim C, scale C^−½; q/k/v/proj_out are 1×1 convs.
// Activations are channel-major [C, H·W]; attention needs token-major [H·W, C], done with
// vision/transpose.h transposes. Workspace: three buffers of the largest activation (128·384² f32 =
// 72 MiB at the real size) plus small attention buffers.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "janus/vision.h"
#include "kernels/backend.h"
#include "vision/attention.h"
#include "vision/transpose.h"
#include "vision/name_map.h"
#include "vision/vision_config.h"

namespace janus::vision {

// Decoder output [3, S, S] f32 (host) → RgbImage, as the reference (facts §5.5): in f32,
// v = (x + 1) / 2 · 255, clamp to [0, 255], truncate toward zero.
RgbImage decoded_to_image(const float* chw, int size);

class VqModel {
public:
    // with_encoder=false skips the encoder weights (text-to-image needs only the decoder).
    static VqModel load(const WeightSource& ws, const VqConfig& cfg, bool with_encoder = true);
    static VqModel random(Backend& be, const VqConfig& cfg, uint64_t seed, bool with_encoder = false,
                          DType wdt = DType::f32);

    const VqConfig& config() const { return cfg_; }
    bool has_encoder() const { return has_encoder_; }
    Backend& backend() const { return *be_; }

    // codes [G·G] → out [1, 3, S, S] f32 on the backend (the decoder output before pixel conversion).
    void decode(const Tensor& out, const int32_t* codes);
    // pixels host f32 [3, S, S] in [−1, 1] → codes [G·G].
    std::vector<int32_t> encode(const float* pixels);
    // The pre-quantisation latent of the last encode(): host f32 [D, G, G].
    const std::vector<float>& last_latent() const { return latent_; }

    // Normalised codebook (host f32 [codebook_size, D]).
    const std::vector<float>& codebook() const { return codebook_; }

    double decode_flops() const;
    double encode_flops() const;

private:
    struct Conv { Tensor w, b; int k = 3; };
    struct Norm { Tensor w, b; };
    struct Res { Norm n1, n2; Conv c1, c2, nin; int cin = 0, cout = 0; };
    struct Attn { Norm n; Tensor wq, bq, wk, bk, wv, bv, wo, bo; int c = 0; };
    struct Level { std::vector<Res> res; std::vector<Attn> attn; bool resample = false; Conv rs; };
    struct Stack { Conv conv_in; std::vector<Level> levels; Res mid0, mid2; Attn mid1; Norm norm_out; Conv conv_out; };

    static Stack load_stack(const WeightSource& ws, const std::string& prefix, const VqConfig& cfg, bool decoder);
    static Stack random_stack(Backend& be, const VqConfig& cfg, bool decoder, uint64_t& seed, DType wdt);
    void run_res(const Res& r, int64_t side);
    void run_attn(const Attn& a, int64_t side);
    void run_level_stack(const Stack& s, bool decoder, int64_t side);
    Tensor buf(int i, const Shape& shape);  // view of workspace buffer i
    void ensure_workspace();
    double stack_flops(const Stack& s, bool decoder) const;

    Backend* be_ = nullptr;
    VqConfig cfg_;
    bool has_encoder_ = false;
    Stack enc_, dec_;
    Conv quant_conv_, post_quant_conv_;
    std::vector<float> codebook_;
    std::vector<float> latent_;
    std::vector<Tensor> bufs_;
    int64_t max_numel_ = 0;
    int cur_ = 0;  // which workspace buffer holds the current activation
    Tensor q_, k_, v_, o_, t_;  // attention workspace at the attention resolution
    std::shared_ptr<Transposer> transposer_;
    std::shared_ptr<GemmAttention> attn_;
};

}  // namespace janus::vision
