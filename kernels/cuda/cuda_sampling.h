// Device-side sampling for the CUDA backend: classifier-free-guidance combine and one categorical
// draw per row, with the Philox convention of kernels/philox.h so a seed means the same thing as on
// the CPU. Plain C++ (no CUDA headers); available when the build has JANUS_HAVE_CUDA.
//
// Sampling semantics (what a CPU implementation must do to draw the same tokens):
//   1. temperature <= 0 or top_k == 1: argmax of the row (lowest index among equal maxima).
//   2. z[v] = logits[v] · (1 / temperature) (f32 multiply). Kept set K = every v.
//   3. top_k in (1, V): t = the k-th largest z; K = { v : z[v] >= t } (ties at t are all kept).
//   4. top_p in (0, 1): e[v] = exp(z[v] − max z); t = the largest z-value such that
//      Σ_{v in K, z[v] >= t} e[v] >= top_p · Σ_{v in K} e[v];  K = { v in K : z[v] >= t }.
//   5. u = philox::sample_uniform(seed, step, row); the token is the smallest v in K (by id) with
//      Σ_{w in K, w <= v} e[w] > u · Σ_{w in K} e[w] (the last kept id if rounding leaves none).
// Sums are f32 on the GPU; a CPU re-implementation in double can differ only when u lands within
// rounding of a boundary between two tokens.
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace janus {

struct SamplingParams {
    float temperature = 1.0f;  // <= 0: greedy
    int top_k = 0;             // 0 or >= V: off
    float top_p = 1.0f;        // >= 1: off
    uint64_t seed = 0;
    uint64_t step = 0;  // decode step, the Philox counter (kernels/philox.h)
};

// out[P, V] = uncond + weight · (cond − uncond) on raw logits[2P, V] (facts §5.2). interleaved:
// cond rows 2p and uncond rows 2p+1 (official Janus); otherwise cond rows [0, P), uncond [P, 2P)
// (transformers port). All tensors f32 on the backend's device; `b` must be a CUDA backend.
void cuda_cfg_combine(Backend& b, const Tensor& out, const Tensor& logits, float weight, bool interleaved = true);

// tokens (i32 [R], on the device) = one draw per row of logits[R, V] (f32, on the device); row r
// uses Philox counter row r. Nothing is synchronised: read tokens back with copy() when needed.
void cuda_sample(Backend& b, const Tensor& tokens, const Tensor& logits, const SamplingParams& p);

}  // namespace janus
