// Runtime CPU feature detection (cpuid + xgetbv) for the CPU backend's SIMD dispatch. The binary is
// built for baseline x86-64; kernels compiled with __attribute__((target(...))) are chosen here.
// JANUS_CPU_ISA=scalar|avx2|avx512|avx512bf16 caps the level (for tests and benchmarks).
#pragma once
#include <string>

namespace janus::cpu {

enum class IsaLevel : int { scalar = 0, avx2 = 1, avx512 = 2, avx512bf16 = 3 };

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512bf16 = false;
    bool avx512vnni = false;  // vpdpbusd (the q8_0 / q4_0 kernels)
};

const CpuFeatures& cpu_features();
// Best level this CPU supports (after the JANUS_CPU_ISA cap).
IsaLevel best_isa();
const char* isa_name(IsaLevel level);

}  // namespace janus::cpu
