// TensorLookup: "give me the tensor stored under this name" — how model loaders (text/, vision/) read
// a checkpoint without knowing its format. Returns an undefined Tensor when the name is absent.
#pragma once
#include <functional>
#include <string>

#include "kernels/tensor.h"

namespace janus {

using TensorLookup = std::function<Tensor(const std::string& name)>;

}  // namespace janus
