// SigLIP-L/16 vision tower of Janus (facts §1.3, §6.2), run through the Backend op table only.
//
//   pixels [n, 3, S, S] f32 (host, in [−1, 1])
//   → patch embed: Conv2d(3 → W, k = s = P) as im2col (host) + one GEMM: [n·N, 3·P·P] · [W, 3·P·P]ᵀ
//   → + pos_embed [N, W]
//   → depth × pre-norm block: x += proj(attn(LN1(x)));  x += fc2(GELU_erf(fc1(LN2(x))))
//       (fused qkv weight [3W, W]: rows q | k | v; heads × head_dim = W; non-causal, scale Dh^−½)
//   → final LayerNorm (eps 1e−6)  → features [n, N, W] f32 on the backend.
// N = (S / P)², W = width. No pooling: attn_pool.* is never loaded. Weights may be f32/bf16/f16 and
// are used in place (mmap) on the CPU. Names: official, or transformers-converted (split q/k/v,
// squeezed position embedding) through vision/name_map.h.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "vision/attention.h"
#include "vision/name_map.h"
#include "vision/vision_config.h"

namespace janus::vision {

class SiglipEncoder {
public:
    static SiglipEncoder load(const WeightSource& ws, const SiglipConfig& cfg);
    // Random weights (benchmarks): N(0, 0.02²) matrices in `wdt`, unit/zero norms and biases.
    static SiglipEncoder random(Backend& be, const SiglipConfig& cfg, uint64_t seed, DType wdt = DType::f32);

    const SiglipConfig& config() const { return cfg_; }
    Backend& backend() const { return *be_; }

    // out [n, N, W] f32 on the backend; pixels host f32 [n, 3, S, S] (CHW per image).
    void forward(const Tensor& out, const float* pixels, int n);

    // Multiply-adds × 2 of one forward over n images (GEMMs + attention; norms/GELU excluded).
    double flops(int n) const;

private:
    struct Block {
        Tensor ln1_w, ln1_b, wq, bq, wk, bk, wv, bv, wo, bo, ln2_w, ln2_b, w1, b1, w2, b2;
    };
    Tensor ws(const char* name, const Shape& shape);

    Backend* be_ = nullptr;
    SiglipConfig cfg_;
    Tensor patch_w_, patch_b_, pos_, norm_w_, norm_b_;  // patch_w_ viewed as [W, 3·P·P], pos_ [N, W]
    std::vector<Block> blocks_;
    std::map<std::string, Tensor> work_;
    std::shared_ptr<GemmAttention> attn_;
};

}  // namespace janus::vision
