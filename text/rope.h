// RoPE frequencies for the Llama family: inv_freq[j] = theta^(−2j/head_dim), j < head_dim/2,
// computed in f32 as transformers does, optionally rescaled (rope_scaling "linear" or "llama3") and
// optionally rounded to bf16 — what `.to(torch.bfloat16)` does to the buffer in the official bf16
// runs (facts §6.1). Returns a host vector [head_dim/2]; the backend's rope op consumes it.
#pragma once
#include <vector>

#include "text/lm_config.h"

namespace janus {

std::vector<float> rope_inv_freq(const LmConfig& cfg, bool round_to_bf16);

}  // namespace janus
