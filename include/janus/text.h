// Public text-generation types: sampling parameters and compute-precision options (`janus bench
// decode` is in janus/bench.h). Frontends (CLI, server) include this; the model code itself
// lives in text/ (LlamaModel, KvCache, Generator) and is driven through pipelines/.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "janus/error.h"

namespace janus {

// How the next token is chosen from a row of logits [vocab]. Applied in this order:
// penalties → temperature → top-k → softmax → min-p → top-p → draw. temperature <= 0 (or
// top_k == 1) is greedy argmax (ties: lowest id).
struct SamplingParams {
    float temperature = 0.0f;
    int top_k = 0;                  // 0 = off
    float top_p = 1.0f;             // 1 = off
    float min_p = 0.0f;             // 0 = off; keep p >= min_p · p_max
    float repetition_penalty = 1.0f;// HF style, over prompt + generated ids: logit>0 ? /r : ·r
    float presence_penalty = 0.0f;  // OpenAI style, over generated ids: −presence if seen
    float frequency_penalty = 0.0f; // OpenAI style, over generated ids: −frequency · count
    uint64_t seed = 0;              // same seed → same tokens (any thread count, any batch mix)
    bool greedy() const { return temperature <= 0.0f || top_k == 1; }
    // Throws janus::Error naming the bad field (e.g. top_p outside (0, 1]).
    void validate() const;
};

// Compute precision for a text model run.
enum class ComputeDType : uint8_t {
    auto_,  // bf16 when the checkpoint's LM weights are bf16, else f32
    f32,    // exact comparison runs
    bf16,   // round activations at module boundaries as torch bf16 does
};
// "f32" | "bf16" | "auto"; throws janus::Error for anything else.
ComputeDType compute_dtype_from_name(const std::string& name);

// Writes random weights with a synthetic model's shapes as a LlamaForCausalLM checkpoint directory
// (config.json + model.safetensors) — to measure real checkpoint loading with `bench decode -m DIR`.
void write_synthetic_model(const std::string& synthetic, const std::string& dtype, const std::string& dir,
                           uint64_t seed = 1);

}  // namespace janus
