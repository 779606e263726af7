// MlpProjector (facts §1.4, §1.6, §6.3): y[M, out] = L2(GELU_erf(L1(x[M, in]))), biases on both
// Linears. Used three times in Janus: `aligner` (SigLIP 1024 → LM hidden), `gen_aligner` (code
// embedding 8 → LM hidden) and `gen_head` (LM hidden → image_token_embed → 16384 logits; tensor names
// output_mlp_projector / vision_head). Weights [out, in] (PyTorch layout), f32/bf16/f16.
#pragma once
#include <string>

#include "kernels/backend.h"
#include "vision/name_map.h"

namespace janus::vision {

class MlpProjector {
public:
    MlpProjector() = default;
    // `prefix` is the official module name: "aligner", "gen_aligner" (tensors layers.0 / layers.2)
    // or "gen_head" (tensors output_mlp_projector / vision_head). Shapes are taken from the tensors.
    static MlpProjector load(const WeightSource& ws, const std::string& prefix);
    // Random weights (synthetic benchmarks): N(0, 0.02²) weights, zero biases, f32.
    static MlpProjector random(Backend& backend, int in, int hidden, int out, uint64_t seed);

    int in_dim() const { return int(w1_.dim(1)); }
    int hidden_dim() const { return int(w1_.dim(0)); }
    int out_dim() const { return int(w2_.dim(0)); }

    // y[M, out] = projector(x[M, in]); `tmp` is a scratch [M, hidden] f32 (allocated when undefined).
    void forward(Backend& be, const Tensor& y, const Tensor& x, Tensor tmp = Tensor()) const;

private:
    Tensor w1_, b1_, w2_, b2_;
};

}  // namespace janus::vision
