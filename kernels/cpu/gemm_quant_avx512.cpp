// AVX-512 VNNI kernel for q8_0 / q4_0 weights (see gemm_quant.h for the contract and kernels/quant.h
// for the panel layout). One 64-byte load of a panel holds the same 4-element slice of 16 groups, so
// vpdpbusd accumulates whole-group integer dot products, one group per 32-bit lane:
//   q8_0: u8 = code + 128 (xor 0x80), Σ u8·x = Σ code·x + 128·Σx   (8 vpdpbusd per panel)
//   q4_0: u8 = nibble = code + 8,      Σ u8·x = Σ code·x + 8·Σx     (4 loads, 8 vpdpbusd per panel)
// The offset is removed in integer arithmetic with the activation's group sums, then one FMA per
// panel folds the 16 group dots with d_w·s_x into 16 f32 lanes — the scalar kernel's order exactly.
#include <immintrin.h>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm_quant.h"
#include "kernels/quant.h"

namespace janus::cpu {

namespace {

template <bool Q8>
__attribute__((target("avx512f,avx512bw,avx512vnni,avx512vl,f16c"))) void kernel(const QuantGemm& q, int64_t n0,
                                                                                    int64_t n1) {
    const QuantizedRows& a = *q.a;
    const int64_t Kp = a.Kp, panels = Kp / kQuantPanel, G = Kp / kQuantGroup;
    const size_t row_bytes = quant_row_bytes(q.wtype, a.K), pb = Q8 ? 512 : 256;
    const __m512i flip = _mm512_set1_epi8(char(0x80)), low4 = _mm512_set1_epi8(0x0f);
    for (int64_t n = n0; n < n1; ++n) {
        const uint8_t* wrow = q.w + size_t(n) * row_bytes;
        const uint16_t* wsc = reinterpret_cast<const uint16_t*>(wrow + size_t(panels) * pb);
        if (n + 1 < n1) _mm_prefetch(reinterpret_cast<const char*>(wrow + row_bytes), _MM_HINT_T0);
        for (int64_t m = 0; m < a.M; ++m) {
            const int8_t* x = a.codes.data() + m * Kp;
            const float* xs = a.scales.data() + m * G;
            const int32_t* xsum = a.offset_sums.data() + m * G;
            __m512 acc = _mm512_setzero_ps();
            for (int64_t p = 0; p < panels; ++p) {
                const uint8_t* wp = wrow + size_t(p) * pb;
                const int8_t* xp = x + p * kQuantPanel;
                __m512i dp = _mm512_setzero_si512();
                if constexpr (Q8) {
                    for (int j = 0; j < 8; ++j) {
                        const __m512i w = _mm512_xor_si512(_mm512_loadu_si512(wp + 64 * j), flip);
                        dp = _mm512_dpbusd_epi32(dp, w, _mm512_loadu_si512(xp + 64 * j));
                    }
                } else {
                    for (int r = 0; r < 4; ++r) {
                        const __m512i b = _mm512_loadu_si512(wp + 64 * r);
                        const __m512i lo = _mm512_and_si512(b, low4);
                        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(b, 4), low4);
                        dp = _mm512_dpbusd_epi32(dp, lo, _mm512_loadu_si512(xp + 64 * r));
                        dp = _mm512_dpbusd_epi32(dp, hi, _mm512_loadu_si512(xp + 64 * (r + 4)));
                    }
                }
                const __m512i dot = _mm512_sub_epi32(dp, _mm512_loadu_si512(xsum + p * 16));
                const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wsc + p * 16)));
                const __m512 ds = _mm512_mul_ps(d, _mm512_loadu_ps(xs + p * 16));
                acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), ds, acc);
            }
            alignas(64) float lanes[16];
            _mm512_store_ps(lanes, acc);
            float s = lanes[0];
            for (int lane = 1; lane < 16; ++lane) s += lanes[lane];
            if (q.bias) s += q.bias[n];
            float& c = q.c[m * q.N + n];
            c = q.accumulate ? c + s : s;
        }
    }
}

void kernel_dispatch(const QuantGemm& q, int64_t n0, int64_t n1) {
    if (q.wtype == DType::q8_0) kernel<true>(q, n0, n1);
    else kernel<false>(q, n0, n1);
}

}  // namespace

QuantKernel quant_kernel_avx512vnni() {
    const CpuFeatures& f = cpu_features();
    if (best_isa() < IsaLevel::avx512 || !f.avx512vnni || !f.f16c) return nullptr;
    return kernel_dispatch;
}

}  // namespace janus::cpu
