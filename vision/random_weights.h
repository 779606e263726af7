// Random and constant weight tensors on a backend, for `janus bench vision --synthetic` (real
// dimensions, no checkpoint). Deterministic: a splitmix64 stream per seed, Box–Muller normals.
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace janus::vision {

// dtype f32, or bf16/f16 (values rounded from the f32 draw).
Tensor random_normal(Backend& be, const Shape& shape, float stddev, uint64_t seed, DType dtype = DType::f32);
Tensor constant(Backend& be, const Shape& shape, float value);

}  // namespace janus::vision
