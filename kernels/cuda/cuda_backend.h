// CUDA backend factory. Declared here, defined in kernels/cuda/*.cu; only the registry includes it.
// This header is plain C++ (no CUDA headers) so kernels/backend_registry.cpp stays CUDA-free.
#pragma once
#include <memory>
#include <string>

#include "kernels/backend.h"

namespace janus {

int cuda_device_count();                       // 0 when no driver/device (never throws)
std::unique_ptr<Backend> make_cuda_backend(int index);
std::string cuda_device_description(int index);  // "cuda:0: NVIDIA H200, 139 GiB, sm_90"
// How a CUDA backend allocates: "cudaMallocAsync pool" (the default) or "cudaMalloc" (the fallback
// taken when memory pools are unsupported or JANUS_CUDA_NO_POOL=1 is set); "" for other backends.
std::string cuda_allocator(const Backend& b);

}  // namespace janus
