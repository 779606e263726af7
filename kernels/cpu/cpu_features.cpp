// cpuid / xgetbv probing; see cpu_features.h.
#include "kernels/cpu/cpu_features.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace janus::cpu {

namespace {

#if defined(__x86_64__) || defined(__i386__)
uint64_t xgetbv0() {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (uint64_t(edx) << 32) | eax;
}
#endif

CpuFeatures detect() {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    bool osxsave = (c >> 27) & 1;
    if (!osxsave) return f;
    uint64_t xcr0 = xgetbv0();
    bool os_avx = (xcr0 & 0x6) == 0x6;
    bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;
    bool fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
    if (!os_avx || !avx) return f;
    f.fma = fma;
    f.f16c = f16c;
    unsigned maxleaf = __get_cpuid_max(0, nullptr);
    if (maxleaf < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = (b >> 5) & 1;
    if (os_avx512) {
        f.avx512f = (b >> 16) & 1;
        f.avx512bw = (b >> 30) & 1;
        f.avx512vl = (b >> 31) & 1;
        f.avx512vnni = (c >> 11) & 1;
        unsigned a1, b1, c1, d1;
        __cpuid_count(7, 1, a1, b1, c1, d1);
        f.avx512bf16 = (a1 >> 5) & 1;
    }
#endif
    return f;
}

IsaLevel detect_level() {
    const CpuFeatures& f = cpu_features();
    IsaLevel level = IsaLevel::scalar;
    if (f.avx2 && f.fma && f.f16c) level = IsaLevel::avx2;
    if (level == IsaLevel::avx2 && f.avx512f && f.avx512bw && f.avx512vl) level = IsaLevel::avx512;
    if (level == IsaLevel::avx512 && f.avx512bf16) level = IsaLevel::avx512bf16;
    if (const char* cap = std::getenv("JANUS_CPU_ISA")) {
        IsaLevel want = level;
        if (!std::strcmp(cap, "scalar")) want = IsaLevel::scalar;
        else if (!std::strcmp(cap, "avx2")) want = IsaLevel::avx2;
        else if (!std::strcmp(cap, "avx512")) want = IsaLevel::avx512;
        else if (!std::strcmp(cap, "avx512bf16")) want = IsaLevel::avx512bf16;
        if (int(want) < int(level)) level = want;
    }
    return level;
}

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures f = detect();
    return f;
}

IsaLevel best_isa() {
    static const IsaLevel level = detect_level();
    return level;
}

const char* isa_name(IsaLevel level) {
    switch (level) {
        case IsaLevel::scalar: return "scalar";
        case IsaLevel::avx2: return "AVX2+FMA";
        case IsaLevel::avx512: return "AVX-512";
        case IsaLevel::avx512bf16: return "AVX-512 BF16";
    }
    return "?";
}

}  // namespace janus::cpu
