// Roofline loops (see roofline.h). The AVX-512 / AVX2 bodies are compiled with target attributes
// and selected with the same cpuid dispatch as the kernels; no library inline functions are used
// inside them. The measurements that run them on the pool: roofline_measure.cpp.
#include "benchmarks/roofline.h"

#include <immintrin.h>

#include "kernels/cpu/cpu_features.h"

namespace janus::bench {

using cpu::best_isa;
using cpu::IsaLevel;

namespace {

// Reads 32 KiB blocks as eight interleaved 4 KiB page streams: hardware prefetchers stop at page
// boundaries, so one plain sequential stream under-reports what DRAM delivers to a kernel that reads
// several weight rows at once (our GEMV). Still a single pass over the buffer in address order.
__attribute__((target("avx512f"))) float stream_read_avx512(const void* data, size_t bytes) {
    const char* p = static_cast<const char*>(data);
    __m512 a[8];
    for (int s = 0; s < 8; s++) a[s] = _mm512_setzero_ps();
    size_t blocks = bytes / 32768;
    for (size_t b = 0; b < blocks; b++) {
        const char* q = p + b * 32768;
        for (size_t i = 0; i < 4096; i += 128)
            for (int s = 0; s < 8; s++) {
                a[s] = _mm512_add_ps(a[s], _mm512_load_ps(q + size_t(s) * 4096 + i));
                a[s] = _mm512_add_ps(a[s], _mm512_load_ps(q + size_t(s) * 4096 + i + 64));
            }
    }
    __m512 t = _mm512_setzero_ps();
    for (int s = 0; s < 8; s++) t = _mm512_add_ps(t, a[s]);
    return _mm512_reduce_add_ps(t);
}

__attribute__((target("avx2"))) float stream_read_avx2(const void* data, size_t bytes) {
    const char* p = static_cast<const char*>(data);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 128 <= bytes; i += 128) {
        a0 = _mm256_add_ps(a0, _mm256_load_ps(reinterpret_cast<const float*>(p + i)));
        a1 = _mm256_add_ps(a1, _mm256_load_ps(reinterpret_cast<const float*>(p + i + 32)));
        a2 = _mm256_add_ps(a2, _mm256_load_ps(reinterpret_cast<const float*>(p + i + 64)));
        a3 = _mm256_add_ps(a3, _mm256_load_ps(reinterpret_cast<const float*>(p + i + 96)));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

#define JANUS_REP24(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
    X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)

__attribute__((target("avx512f"))) double fma_peak_avx512(int64_t iters) {
#define DECL(i) __m512 c##i = _mm512_set1_ps(float(i) * 1e-3f);
    JANUS_REP24(DECL)
#undef DECL
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-4f);
    for (int64_t it = 0; it < iters; it++) {
#define STEP(i) c##i = _mm512_fmadd_ps(c##i, a, b);
        JANUS_REP24(STEP)
#undef STEP
        __asm__ volatile("" ::: "memory");
    }
    __m512 s = _mm512_setzero_ps();
#define SUM(i) s = _mm512_add_ps(s, c##i);
    JANUS_REP24(SUM)
#undef SUM
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return double(iters) * 24 * 32;
}

__attribute__((target("avx2,fma"))) double fma_peak_avx2(int64_t iters) {
#define DECL(i) __m256 c##i = _mm256_set1_ps(float(i) * 1e-3f);
    JANUS_REP24(DECL)
#undef DECL
    const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-4f);
    for (int64_t it = 0; it < iters; it++) {
#define STEP(i) c##i = _mm256_fmadd_ps(c##i, a, b);
        JANUS_REP24(STEP)
#undef STEP
        __asm__ volatile("" ::: "memory");
    }
    __m256 s = _mm256_setzero_ps();
#define SUM(i) s = _mm256_add_ps(s, c##i);
    JANUS_REP24(SUM)
#undef SUM
    float out[8];
    _mm256_storeu_ps(out, s);
    volatile float sink = out[0];
    (void)sink;
    return double(iters) * 24 * 16;
}

__attribute__((target("avx512f,avx512bf16"))) double bf16_peak_avx512(int64_t iters) {
#define DECL(i) __m512 c##i = _mm512_set1_ps(float(i) * 1e-3f);
    JANUS_REP24(DECL)
#undef DECL
    const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3a80);
    for (int64_t it = 0; it < iters; it++) {
#define STEP(i) c##i = _mm512_dpbf16_ps(c##i, a, b);
        JANUS_REP24(STEP)
#undef STEP
        __asm__ volatile("" ::: "memory");
    }
    __m512 s = _mm512_setzero_ps();
#define SUM(i) s = _mm512_add_ps(s, c##i);
    JANUS_REP24(SUM)
#undef SUM
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return double(iters) * 24 * 64;
}

}  // namespace

float stream_read(const void* data, size_t bytes) {
    IsaLevel isa = best_isa();
    if (isa >= IsaLevel::avx512) return stream_read_avx512(data, bytes);
    if (isa >= IsaLevel::avx2) return stream_read_avx2(data, bytes);
    const float* p = static_cast<const float*>(data);
    float s = 0;
    for (size_t i = 0; i < bytes / 4; i += 16) s += p[i];  // one load per cache line
    return s;
}

double fma_peak_loop(int64_t iters) {
    IsaLevel isa = best_isa();
    if (isa >= IsaLevel::avx512) return fma_peak_avx512(iters);
    if (isa >= IsaLevel::avx2) return fma_peak_avx2(iters);
    float c[8] = {0};
    for (int64_t it = 0; it < iters; it++)
        for (int i = 0; i < 8; i++) c[i] = c[i] * 0.999f + 1e-4f;
    volatile float sink = c[0];
    (void)sink;
    return double(iters) * 16;
}

double bf16_peak_loop(int64_t iters) {
    if (best_isa() < IsaLevel::avx512bf16) return 0;
    return bf16_peak_avx512(iters);
}

}  // namespace janus::bench
