// CPU attention: out[Tq, H, Dh] = softmax(q·kᵀ·scale + mask)·v for q[Tq, H, Dh] (f32) and a KV cache
// k/v[Tk, Hkv, Dh] in f32/bf16/f16; query head h reads kv head h / (H / Hkv) (GQA). With
// causal_start >= 0 query i sits at position causal_start + i and sees keys 0 .. causal_start + i.
// AVX-512: one task per (query, group of kv heads), reading the cache key-major; otherwise one task
// per (query, head). Either way each head's arithmetic is fixed, whatever the thread count.
// attention_multi runs several such problems (one per sequence of a batch) in one pool dispatch.
// Non-causal problems with >= 32 query rows (vision encoders) use the tiled flash kernel (AVX-512/AVX2)
// instead: one task per (head, 4 query rows), online softmax over blocks of 64 keys.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/attention_kernels.h"

namespace janus::cpu {

namespace {

// Validates one attention problem (op = "attention" or "attention_multi[i]") and describes it.
AttentionArgs attention_args(const std::string& name, const Tensor& out, const Tensor& q, const Tensor& k,
                             const Tensor& v, float scale, int64_t causal_start) {
    const char* op = name.c_str();
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
    return a;
}

// Non-causal problems with at least this many query rows use the tiled (flash) kernel where present.
constexpr int64_t kFlashMinRows = 32;

// Per-thread scratch, grown on demand (kernels fully overwrite what they read).
float* scratch_floats(size_t n) {
    thread_local std::vector<float> buf;
    if (buf.size() < n) buf.resize(n);
    return buf.data();
}

}  // namespace

// All problems in one thread-pool dispatch. Work items: for each problem, its query rows times G
// groups of kv heads (AVX-512 key-major kernel) or its query rows times heads (row kernels); items
// are numbered problem after problem and located by binary search over the prefix counts. G depends
// only on the total row count and the thread count, and per-head results do not depend on G, so the
// output is bitwise the same for any thread count and any batching of the same problems.
// Long non-causal problem (vision encoders) with the tiled flash kernel: K/V of every kv head packed
// to f32 (K transposed) in one dispatch, then one item per (head, block of 4 query rows).
void CpuBackend::attention_flash(const AttentionArgs& a, AttentionFlashFn fn) {
    const int64_t Tkp = (a.Tk + 15) / 16 * 16, Dhp = (a.Dh + 15) / 16 * 16, per_head = a.Dh * Tkp + Tkp * Dhp;
    std::vector<float> packed(size_t(a.Hkv * per_head), 0.0f);
    pool_.parallel_for(a.Hkv * a.Tk, 16, [&](int64_t b, int64_t e) {
        std::vector<float> row(size_t(a.Dh));
        for (int64_t t = b; t < e; t++) {
            const int64_t hk = t / a.Tk, j = t % a.Tk;
            float* kt = packed.data() + hk * per_head;
            float* vp = kt + a.Dh * Tkp;
            load_f32(a.k, a.ktype, (j * a.Hkv + hk) * a.Dh, a.Dh, row.data());
            for (int64_t d = 0; d < a.Dh; d++) kt[d * Tkp + j] = row[size_t(d)];
            load_f32(a.v, a.vtype, (j * a.Hkv + hk) * a.Dh, a.Dh, vp + j * Dhp);
        }
    });
    const int64_t blocks = (a.Tq + 3) / 4, rep = a.H / a.Hkv;
    pool_.parallel_for(a.H * blocks, 1, [&](int64_t b, int64_t e) {
        float* buf = scratch_floats(size_t(4 * Dhp + 256));
        for (int64_t t = b; t < e; t++) {
            const int64_t h = t / blocks, i0 = t % blocks * 4;
            const float* kt = packed.data() + h / rep * per_head;
            fn(a, kt, kt + a.Dh * Tkp, i0, std::min<int64_t>(4, a.Tq - i0), h, buf);
        }
    });
}

void CpuBackend::attention_all(const std::vector<AttentionArgs>& all) {
    // Long non-causal problems take the tiled kernel (a per-problem choice, so attention_multi still
    // matches attention() entry by entry); the rest share one dispatch below.
    std::vector<AttentionArgs> probs;
    probs.reserve(all.size());
    for (const AttentionArgs& a : all) {
        AttentionFlashFn ffn = a.causal_start < 0 && a.Tq >= kFlashMinRows ? attention_flash_kernel() : nullptr;
        if (ffn) attention_flash(a, ffn);
        else probs.push_back(a);
    }
    const size_t n = probs.size();
    if (n == 0) return;
    const int64_t threads = pool_.size();
    int64_t rows = 0;
    for (const AttentionArgs& a : probs) rows += a.Tq;
    if (rows == 0) return;
    std::vector<AttentionGroupFn> gfn(n);
    std::vector<AttentionRowFn> rfn(n);
    std::vector<int64_t> groups(n), first(n + 1, 0);
    size_t scratch = 0;
    // Few rows (decode): split each row's kv heads so all threads get items; many rows: one per row.
    const int64_t G = rows >= 2 * threads ? 1 : (threads + rows - 1) / rows;
    for (size_t s = 0; s < n; s++) {
        const AttentionArgs& a = probs[s];
        gfn[s] = attention_group_kernel(a.ktype, a.vtype);
        if (gfn[s]) {
            groups[s] = std::min<int64_t>(G, a.Hkv);
            const int64_t nh_max = (a.Hkv + groups[s] - 1) / groups[s] * (a.H / a.Hkv);
            scratch = std::max(scratch, size_t(nh_max * (a.Tk + a.Dh + 1)));
        } else {
            rfn[s] = attention_row_kernel(a.ktype, a.vtype);
            groups[s] = a.H;  // one item per (row, head)
            scratch = std::max(scratch, size_t(a.Tk + 2 * a.Dh));
        }
        first[s + 1] = first[s] + a.Tq * groups[s];
    }
    pool_.parallel_for(first[n], 1, [&](int64_t b, int64_t e) {
        float* buf = scratch_floats(scratch);
        size_t s = size_t(std::upper_bound(first.begin(), first.end(), b) - first.begin()) - 1;
        for (int64_t t = b; t < e; t++) {
            while (t >= first[s + 1]) s++;
            const AttentionArgs& a = probs[s];
            const int64_t u = t - first[s], g = u % groups[s], i = u / groups[s];
            if (gfn[s]) gfn[s](a, i, g * a.Hkv / groups[s], (g + 1) * a.Hkv / groups[s], buf);
            else rfn[s](a, i, g, buf);
        }
    });
}

void CpuBackend::attention(const Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                           int64_t causal_start) {
    attention_all({attention_args("attention", out, q, k, v, scale, causal_start)});
}

void CpuBackend::attention_multi(const std::vector<AttentionSeq>& seqs, float scale) {
    std::vector<AttentionArgs> probs;
    probs.reserve(seqs.size());
    for (size_t i = 0; i < seqs.size(); i++) {
        const AttentionSeq& s = seqs[i];
        probs.push_back(attention_args("attention_multi[" + std::to_string(i) + "]", s.out, s.q, s.k, s.v, scale,
                                       s.causal_start));
    }
    attention_all(probs);
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
