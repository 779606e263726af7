// Random and constant weight tensors on a backend, for `janus bench vision --synthetic` (real
// dimensions, no checkpoint). Deterministic: a splitmix64 stream per seed, Box–Muller normals.
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace janus::vision {

Tensor random_normal(Backend& be, const Shape& shape, float stddev, uint64_t seed);
Tensor constant(Backend& be, const Shape& shape, float value);

}  // namespace janus::vision
