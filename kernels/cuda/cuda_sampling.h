// Device-side sampling for the CUDA backend: one draw per row of logits[R, V] that follows
// text/sampling.cpp's sample_token() step for step (temperature → top-k → softmax → min-p → top-p →
// draw in descending-probability order, ties by lower id, −0 == +0) with the same Philox uniform
// (kernels/philox.h: key = seed, counter = {step, stream}) — so a seed means the same thing on the
// CPU and the GPU. Plain parameters only: no model knowledge (classifier-free guidance, penalties
// and the like belong to the caller, applied to the logits first). Plain C++ (no CUDA headers);
// available when the build has JANUS_HAVE_CUDA.
//
// Documented difference: the GPU forms its probability sums in a different order (block reductions)
// than the CPU's sequential double sums, so the two can pick different tokens only when the uniform
// (or the top-p cut) lands within double rounding (~1e-15 relative) of a boundary between two tokens.
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace janus {

// The cuts and the seed of one draw (the meaning of text/sampling.h's fields of the same names).
struct CudaSampleParams {
    float temperature = 1.0f;  // <= 0: greedy (argmax, lowest id on ties)
    int top_k = 0;             // 0 = off; 1 = greedy
    float top_p = 1.0f;        // (0, 1]
    float min_p = 0.0f;        // [0, 1]
    uint64_t seed = 0;
};

// tokens (i32 [R], on the device) = one draw per row of logits[R, V] (f32, on the device); row r is
// stream `stream0 + r` at `step`. Throws janus::Error for parameters outside the ranges above.
// Asynchronous: read tokens back with copy() when needed. Uses the backend's scratch (R·V·8 bytes).
void cuda_sample(Backend& b, const Tensor& tokens, const Tensor& logits, const CudaSampleParams& p,
                 uint64_t stream0, uint64_t step);

}  // namespace janus
