// Shape rules of Backend::attention, shared by every backend: q/out [Tq, H, Dh], k/v [Tk, Hkv, Dh],
// H a multiple of Hkv, Tk > 0, for causal problems (causal_start >= 0) Tk >= causal_start + Tq, and
// out not aliasing q. Dtype and device checks stay with each backend (they differ per device).
#pragma once
#include <cstdint>
#include <string>

#include "kernels/tensor.h"

namespace janus {

// Empty when the shapes are valid, else what is wrong (and how to fix it), for the backend to raise.
std::string attention_shape_error(const Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v,
                                  int64_t causal_start);

}  // namespace janus
