// CPU backend factory (the reference backend; always built). See kernels/backend.h for the ops.
#pragma once
#include <memory>
#include <string>

#include "kernels/backend.h"

namespace janus {

// threads = 0: one per physical core.
std::unique_ptr<Backend> make_cpu_backend(int threads);
int physical_core_count();
// "cpu: 2 threads, AVX-512 BF16 kernels" — what the runtime dispatch chose.
std::string cpu_backend_description();

}  // namespace janus
