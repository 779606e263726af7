// Tensor lookups for the non-LM parts of a Janus checkpoint (the name map itself lives once, in
// models/tensor_names.h). Model code asks for the
// OFFICIAL name (facts §2.2, e.g. "vision_model.vision_tower.blocks.3.norm1.weight"); the loader tries
// it, then its transformers-converted spelling (facts §2.4, e.g.
// "model.vision_model.encoder.layers.3.layer_norm1.weight"). Tensors that are split or reshaped by
// the converter (SigLIP fused qkv ↔ q_proj/k_proj/v_proj, pos_embed [1,N,W] ↔ [N,W]) are handled by
// the module loaders, which ask for each spelling explicitly.
#pragma once
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/tensor_lookup.h"

namespace janus::vision {

// transformers-converted spelling of an official name ("" when the name has no counterpart, e.g.
// attn_pool.* and quantize.codebook_used, which the converter drops): models::transformers_name.
std::string hf_name(const std::string& official);

// Finds tensors under either spelling and uploads them to the backend.
class WeightSource {
public:
    WeightSource(TensorLookup find, Backend& backend, std::string source)
        : find_(std::move(find)), backend_(&backend), source_(std::move(source)) {}

    // Official name, then hf_name(official); undefined Tensor when neither exists.
    Tensor find(const std::string& official) const;
    // Like find, but an absent tensor throws janus::Error naming both spellings and the checkpoint;
    // `shape` (when given) must match exactly.
    Tensor require(const std::string& official, const Shape& shape = Shape()) const;
    // A raw lookup by exact name (no mapping, no upload).
    Tensor raw(const std::string& name) const { return find_(name); }
    Tensor upload(const Tensor& t) const { return backend_->upload(t); }
    bool has(const std::string& official) const { return find(official).defined(); }
    Backend& backend() const { return *backend_; }
    const std::string& source() const { return source_; }

private:
    TensorLookup find_;
    Backend* backend_;
    std::string source_;
};

}  // namespace janus::vision
