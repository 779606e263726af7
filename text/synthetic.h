// Synthetic language models for benchmarks: the LmConfig of a named shape (Janus-Pro-1B / 7B LM,
// facts §1.2, or a tiny one) and random weights of that shape built in backend memory. Weights are
// uniform in ±0.02 (norm weights 1), so activations stay finite and free of denormals; the numbers
// are meaningless, the memory traffic and arithmetic are those of the real model.
#pragma once
#include <string>

#include "kernels/backend.h"
#include "text/llama_model.h"

namespace janus {

// "janus-pro-1b" | "janus-pro-7b" | "tiny"; throws janus::Error listing the names otherwise.
LmConfig synthetic_lm_config(const std::string& name);
// Random weights of cfg's shapes in `dtype` (f32, bf16 or f16), filled with `threads` threads.
LmWeights synthetic_lm_weights(const LmConfig& cfg, DType dtype, Backend& backend, uint64_t seed, int threads);

// Writes the same random weights as a LlamaForCausalLM checkpoint directory (config.json +
// model.safetensors, HF names) — a real-size file to measure checkpoint loading and peak RSS with.
void write_synthetic_checkpoint(const LmConfig& cfg, DType dtype, const std::string& dir, uint64_t seed, int threads);

}  // namespace janus
