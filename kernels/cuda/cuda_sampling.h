// Device-side sampling for the CUDA backend: classifier-free-guidance combine, and one draw per row
// that follows text/sampling.cpp's sample_token() step for step (temperature → top-k → softmax →
// min-p → top-p → draw in descending-probability order, ties by lower id) with the same Philox
// uniform (kernels/philox.h: key = seed, counter = {step, stream}) — so a seed means the same thing
// on the CPU and the GPU. Penalties are not applied here (apply them to the logits first).
// Plain C++ (no CUDA headers); available when the build has JANUS_HAVE_CUDA.
//
// Documented difference: the GPU forms its probability sums in a different order (block reductions)
// than the CPU's sequential double sums, so the two can pick different tokens only when the uniform
// (or the top-p cut) lands within double rounding (~1e-15 relative) of a boundary between two tokens.
#pragma once
#include <cstdint>

#include "janus/text.h"
#include "kernels/backend.h"

namespace janus {

// out[P, V] = uncond + weight · (cond − uncond) on raw logits[2P, V] (facts §5.2). interleaved:
// cond rows 2p and uncond rows 2p+1 (official Janus); otherwise cond rows [0, P), uncond [P, 2P)
// (transformers port). All tensors f32 on the backend's device; `b` must be a CUDA backend.
void cuda_cfg_combine(Backend& b, const Tensor& out, const Tensor& logits, float weight, bool interleaved = true);

// tokens (i32 [R], on the device) = one draw per row of logits[R, V] (f32, on the device); row r is
// stream `stream0 + r` at `step`. p.temperature <= 0 or top_k == 1: argmax (lowest id on ties).
// Asynchronous: read tokens back with copy() when needed. Uses the backend's scratch (R·V·8 bytes).
void cuda_sample(Backend& b, const Tensor& tokens, const Tensor& logits, const SamplingParams& p, uint64_t stream0,
                 uint64_t step);

}  // namespace janus
