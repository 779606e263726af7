// CPU attention: out[Tq, H, Dh] = softmax(q·kᵀ·scale + mask)·v for q[Tq, H, Dh] (f32) and a KV cache
// k/v[Tk, Hkv, Dh] in f32/bf16/f16; query head h reads kv head h / (H / Hkv) (GQA). With
// causal_start >= 0 query i sits at position causal_start + i and sees keys 0 .. causal_start + i.
// AVX-512: one task per (query, group of kv heads), reading the cache key-major; otherwise one task
// per (query, head). Either way each head's arithmetic is fixed, whatever the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/attention_kernels.h"

namespace janus::cpu {

void CpuBackend::attention(const Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                           int64_t causal_start) {
    const char* op = "attention";
    check_f32(op, "out", out);
    check_f32(op, "q", q);
    check_float(op, "k", k);
    check_float(op, "v", v);
    if (q.ndim() != 3) fail(op, "q is " + q.str() + " but must be [Tq, H, Dh]");
    if (k.ndim() != 3) fail(op, "k is " + k.str() + " but must be [Tk, Hkv, Dh]");
    check_same_shape(op, "out", out, "q", q);
    check_same_shape(op, "v", v, "k", k);
    int64_t Tq = q.dim(0), H = q.dim(1), Dh = q.dim(2), Tk = k.dim(0), Hkv = k.dim(1);
    if (k.dim(2) != Dh) fail(op, "k head dim " + std::to_string(k.dim(2)) + " != q head dim " + std::to_string(Dh));
    if (Hkv <= 0 || H % Hkv != 0)
        fail(op, "q heads " + std::to_string(H) + " must be a multiple of kv heads " + std::to_string(Hkv));
    if (causal_start >= 0 && Tk < causal_start + Tq)
        fail(op, "causal attention needs Tk >= causal_start + Tq, got Tk = " + std::to_string(Tk) +
                     ", causal_start = " + std::to_string(causal_start) + ", Tq = " + std::to_string(Tq) +
                     " (append the new keys to the cache first)");
    if (out.data() == q.data() && out.numel() > 0) fail(op, "out must not alias q");
    if (Tk == 0) fail(op, "k/v hold no keys (Tk = 0)");
    AttentionArgs a;
    a.q = q.ptr<float>();
    a.k = k.data();
    a.v = v.data();
    a.ktype = k.dtype();
    a.vtype = v.dtype();
    a.out = out.ptr<float>();
    a.Tq = Tq;
    a.H = H;
    a.Hkv = Hkv;
    a.Dh = Dh;
    a.Tk = Tk;
    a.scale = scale;
    a.causal_start = causal_start;
    if (AttentionGroupFn gfn = attention_group_kernel(a.ktype, a.vtype)) {
        // Key-major kernel over groups of kv heads. Few query rows (decode): split the kv heads over
        // the threads; many: one task per row. Per-head results do not depend on the grouping.
        const int64_t threads = pool_.size();
        const int64_t G = Tq >= 2 * threads ? 1 : std::min<int64_t>(Hkv, threads);
        const int64_t nh_max = (Hkv + G - 1) / G * (H / Hkv);
        pool_.parallel_for(Tq * G, 1, [&](int64_t b, int64_t e) {
            std::vector<float> scratch(size_t(nh_max * (Tk + Dh + 1)));
            for (int64_t t = b; t < e; t++) {
                const int64_t g = t % G;
                gfn(a, t / G, g * Hkv / G, (g + 1) * Hkv / G, scratch.data());
            }
        });
        return;
    }
    AttentionRowFn fn = attention_row_kernel(a.ktype, a.vtype);
    pool_.parallel_for(Tq * H, 1, [&](int64_t b, int64_t e) {
        std::vector<float> scratch(size_t(Tk + 2 * Dh));
        for (int64_t t = b; t < e; t++) fn(a, t / H, t % H, scratch.data());
    });
}

// ---- scalar row kernel --------------------------------------------------------------------------
namespace {
void attention_row_scalar(const AttentionArgs& a, int64_t i, int64_t h, float* scratch) {
    int64_t limit = a.causal_start < 0 ? a.Tk : a.causal_start + i + 1;
    int64_t hk = h / (a.H / a.Hkv);
    const float* q = a.q + (i * a.H + h) * a.Dh;
    float* scores = scratch;
    float* row = scratch + a.Tk;
    float* acc = row + a.Dh;
    float mx = -INFINITY;
    for (int64_t j = 0; j < limit; j++) {
        load_f32(a.k, a.ktype, (j * a.Hkv + hk) * a.Dh, a.Dh, row);
        float s = 0;
        for (int64_t d = 0; d < a.Dh; d++) s += q[d] * row[d];
        s *= a.scale;
        scores[j] = s;
        mx = std::max(mx, s);
    }
    double sum = 0;
    for (int64_t j = 0; j < limit; j++) {
        scores[j] = std::exp(scores[j] - mx);
        sum += scores[j];
    }
    float inv = float(1.0 / sum);
    for (int64_t d = 0; d < a.Dh; d++) acc[d] = 0;
    for (int64_t j = 0; j < limit; j++) {
        load_f32(a.v, a.vtype, (j * a.Hkv + hk) * a.Dh, a.Dh, row);
        float p = scores[j];
        for (int64_t d = 0; d < a.Dh; d++) acc[d] += p * row[d];
    }
    float* o = a.out + (i * a.H + h) * a.Dh;
    for (int64_t d = 0; d < a.Dh; d++) o[d] = acc[d] * inv;
}
}  // namespace

AttentionRowFn attention_row_scalar_kernel() { return attention_row_scalar; }

}  // namespace janus::cpu
