// Layout changes the Backend op table has no kernel for, built from existing ops so they run on every
// backend: a 2-D transpose y[B, A] = x[A, B]ᵀ is the embedding gather with row width 1 over a
// permutation of indices (memory-bound, exact). Permutations are built once per shape and cached on
// the backend. Used by the VQ attention blocks (channel-major [C, H·W] ↔ token-major [H·W, C]).
#pragma once
#include <map>
#include <utility>

#include "kernels/backend.h"

namespace janus::vision {

class Transposer {
public:
    explicit Transposer(Backend& backend) : backend_(&backend) {}
    // y[B, A] = x[A, B]ᵀ; x f32 (or bf16/f16: the gather converts to f32), y f32.
    void transpose(const Tensor& y, const Tensor& x);

private:
    Backend* backend_;
    std::map<std::pair<int64_t, int64_t>, Tensor> perms_;
};

}  // namespace janus::vision
