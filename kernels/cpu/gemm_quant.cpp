// Quantized GEMM: activation quantization, the scalar kernel (the reference order, see gemm_quant.h)
// and the dispatch over the pool.
#include "kernels/cpu/gemm_quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/cpu_features.h"
#include "kernels/quant.h"

namespace janus::cpu {

void quantize_activations(ThreadPool& pool, const float* a, int64_t M, int64_t K, DType wtype, QuantizedRows* out) {
    const int32_t offset = wtype == DType::q8_0 ? 128 : 8;
    const int64_t Kp = quant_padded_k(K), G = Kp / kQuantGroup;
    out->M = M;
    out->K = K;
    out->Kp = Kp;
    out->codes.assign(size_t(M * Kp), 0);
    out->scales.assign(size_t(M * G), 0.0f);
    out->offset_sums.assign(size_t(M * G), 0);
    pool.parallel_for(M, 1, [&](int64_t b, int64_t e) {
        for (int64_t m = b; m < e; ++m) {
            const float* x = a + m * K;
            int8_t* codes = out->codes.data() + m * Kp;
            for (int64_t g = 0; g < K / kQuantGroup; ++g) {
                const float* v = x + g * kQuantGroup;
                float amax = 0;
                for (int64_t i = 0; i < kQuantGroup; ++i) amax = std::max(amax, std::fabs(v[i]));
                const float inv = amax > 0 ? 127.0f / amax : 0.0f;
                int32_t sum = 0;
                int8_t* panel = codes + (g / 16) * kQuantPanel;
                const int64_t lane = g % 16;
                for (int64_t i = 0; i < kQuantGroup; ++i) {
                    const int32_t q = int32_t(std::nearbyint(v[i] * inv));  // |q| <= 127
                    panel[64 * (i / 4) + 4 * lane + i % 4] = int8_t(q);
                    sum += q;
                }
                out->scales[size_t(m * G + g)] = amax / 127.0f;
                out->offset_sums[size_t(m * G + g)] = offset * sum;
            }
        }
    });
}

namespace {

void kernel_scalar(const QuantGemm& q, int64_t n0, int64_t n1) {
    const QuantizedRows& a = *q.a;
    const int64_t Kp = a.Kp, panels = Kp / kQuantPanel, G = Kp / kQuantGroup;
    const size_t row_bytes = quant_row_bytes(q.wtype, a.K), pb = quant_panel_bytes(q.wtype);
    const bool q8 = q.wtype == DType::q8_0;
    for (int64_t n = n0; n < n1; ++n) {
        const uint8_t* wrow = q.w + size_t(n) * row_bytes;
        const uint16_t* wsc = reinterpret_cast<const uint16_t*>(wrow + size_t(panels) * pb);
        for (int64_t m = 0; m < a.M; ++m) {
            const int8_t* x = a.codes.data() + m * Kp;
            float acc[16] = {};
            for (int64_t p = 0; p < panels; ++p) {
                const uint8_t* wp = wrow + size_t(p) * pb;
                const int8_t* xp = x + p * kQuantPanel;
                for (int64_t lane = 0; lane < 16; ++lane) {
                    const int64_t g = p * 16 + lane;
                    int32_t dot = 0;
                    for (int64_t i = 0; i < kQuantGroup; ++i) {
                        int32_t w;
                        if (q8) {
                            w = int8_t(wp[64 * (i / 4) + 4 * lane + i % 4]);
                        } else {
                            const uint8_t b = wp[64 * ((i % 16) / 4) + 4 * lane + i % 4];
                            w = int32_t(i >= 16 ? b >> 4 : b & 15) - 8;
                        }
                        dot += w * int32_t(xp[64 * (i / 4) + 4 * lane + i % 4]);
                    }
                    const float ds = (g < a.K / kQuantGroup ? f16_to_f32(wsc[g]) : 0.0f) * a.scales[size_t(m * G + g)];
                    acc[lane] = std::fma(float(dot), ds, acc[lane]);
                }
            }
            float s = acc[0];
            for (int lane = 1; lane < 16; ++lane) s += acc[lane];
            if (q.bias) s += q.bias[n];
            float& c = q.c[m * q.N + n];
            c = q.accumulate ? c + s : s;
        }
    }
}

}  // namespace

QuantKernel quant_kernel_scalar() { return kernel_scalar; }

void gemm_quant(ThreadPool& pool, const QuantGemm& g) {
    if (g.N <= 0 || g.a->M <= 0) return;
    QuantKernel k = quant_kernel_avx512vnni();
    if (!k) k = kernel_scalar;
    const int64_t work_per_row = std::max<int64_t>(1, g.a->M * g.a->Kp);
    int64_t grain = std::max<int64_t>(4, (int64_t(1) << 18) / work_per_row);
    const int64_t chunks_wanted = int64_t(pool.size()) * 8;
    grain = std::min(grain, std::max<int64_t>(4, (g.N + chunks_wanted - 1) / chunks_wanted));
    pool.parallel_for(g.N, grain, [&](int64_t n0, int64_t n1) { k(g, n0, n1); });
}

}  // namespace janus::cpu
