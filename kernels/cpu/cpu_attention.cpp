// CPU attention: out[Tq, H, Dh] = softmax(q·kᵀ·scale + mask)·v for q[Tq, H, Dh] (f32) and a KV cache
// k/v[Tk, Hkv, Dh] in f32/bf16/f16; query head h reads kv head h / (H / Hkv) (GQA). With
// causal_start >= 0 query i sits at position causal_start + i and sees keys 0 .. causal_start + i.
// AVX-512 or AVX2: problems with <= 4 query rows (decode) split each row's keys into fixed chunks of
// 32, one task per (row, chunk) over all heads, merged with log-sum-exp weights
// (attention_decode_avx512.cpp / _avx2.cpp). Other problems with AVX-512: one task per (query, group
// of kv heads), reading the cache key-major; otherwise (and all problems on scalar CPUs) one task per
// (query, head). Either way each head's arithmetic is fixed, whatever the thread count.
// attention_multi runs several such problems (one per sequence of a batch) in one pool dispatch.
// Non-causal problems with >= 32 query rows (vision encoders) use the tiled flash kernel (AVX-512/AVX2)
// instead: one task per (head, 4 query rows), online softmax over blocks of 64 keys.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <vector>

#include "kernels/attention_shapes.h"
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
    if (std::string e = attention_shape_error(out, q, k, v, causal_start); !e.empty()) fail(op, e);
    AttentionArgs a;
    a.Tq = q.dim(0);
    a.H = q.dim(1);
    a.Dh = q.dim(2);
    a.Tk = k.dim(0);
    a.Hkv = k.dim(1);
    a.q = q.ptr<float>();
    a.k = k.data();
    a.v = v.data();
    a.ktype = k.dtype();
    a.vtype = v.dtype();
    a.out = out.ptr<float>();
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

// The calling thread's buffer of split-key partials (written and read within one attention_all).
float* partial_floats(size_t n) {
    thread_local std::vector<float> buf;
    if (buf.size() < n) buf.resize(n);
    return buf.data();
}

// Problems with at most this many query rows (decode, speculative rows) use the split-key kernels
// where present: one item per (row, chunk of keys) instead of per (row, kv-head group).
constexpr int64_t kSplitMaxRows = 4;

}  // namespace

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

// All other problems in one thread-pool dispatch. Work items, numbered problem after problem and
// located by binary search over the prefix counts:
//   - decode-like problems (<= kSplitMaxRows query rows) with a split-key kernel: one item per (row,
//     chunk of kDecodeChunk keys), all heads; each writes its partial, and whichever item of a row
//     finishes last merges the row's partials in chunk order (an atomic countdown per row);
//   - otherwise the AVX-512 key-major kernel: query rows times G groups of kv heads, or the row
//     kernels: query rows times heads.
// Chunk boundaries depend only on the problem, G only on the row count and the thread count, and
// per-head results depend on neither (the split decision is per problem), so the output is bitwise
// the same for any thread count and any batching of the same problems.
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
    std::vector<AttentionGroupFn> gfn(n);
    std::vector<AttentionRowFn> rfn(n);
    std::vector<AttentionDecodeFns> dfn(n);
    std::vector<int64_t> groups(n), first(n + 1, 0);
    // Split rows: for split problem s, rows srow[s] .. srow[s] + Tq − 1 of the row tables below.
    std::vector<int64_t> srow(n, 0), row_chunks, row_part;  // chunks per row, first partial of the row
    int64_t rows = 0, parts = 0;
    size_t scratch = 0;
    for (size_t s = 0; s < n; s++) {
        const AttentionArgs& a = probs[s];
        if (a.Tq > 0 && a.Tq <= kSplitMaxRows) dfn[s] = attention_decode_kernels(a.ktype, a.vtype, a.Dh);
        if (dfn[s].chunk) {
            srow[s] = int64_t(row_chunks.size());
            for (int64_t i = 0; i < a.Tq; i++) {
                const int64_t limit = a.causal_start < 0 ? a.Tk : a.causal_start + i + 1;
                const int64_t nch = (limit + kDecodeChunk - 1) / kDecodeChunk;
                row_chunks.push_back(nch);
                row_part.push_back(parts);
                parts += nch * a.H * (a.Dh + 2);
                first[s + 1] += nch;
            }
            scratch = std::max(scratch, size_t(a.H * (kDecodeChunk + 2 * a.Dh)));
        } else {
            rows += a.Tq;
        }
    }
    // Few rows (decode): split each row's kv heads so all threads get items; many rows: one per row.
    const int64_t G = rows >= 2 * threads || rows == 0 ? 1 : (threads + rows - 1) / rows;
    for (size_t s = 0; s < n; s++) {
        const AttentionArgs& a = probs[s];
        if (!dfn[s].chunk) {
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
            first[s + 1] = a.Tq * groups[s];
        }
        first[s + 1] += first[s];
    }
    if (first[n] == 0) return;
    float* part = partial_floats(size_t(parts));
    std::unique_ptr<std::atomic<int64_t>[]> pending(new std::atomic<int64_t>[row_chunks.size()]);
    for (size_t r = 0; r < row_chunks.size(); r++) pending[r].store(row_chunks[r], std::memory_order_relaxed);
    pool_.parallel_for(first[n], 1, [&](int64_t b, int64_t e) {
        float* buf = scratch_floats(scratch);
        size_t s = size_t(std::upper_bound(first.begin(), first.end(), b) - first.begin()) - 1;
        for (int64_t t = b; t < e; t++) {
            while (t >= first[s + 1]) s++;
            const AttentionArgs& a = probs[s];
            int64_t u = t - first[s];
            if (dfn[s].chunk) {
                int64_t r = srow[s], i = 0;
                while (u >= row_chunks[size_t(r)]) u -= row_chunks[size_t(r++)], i++;
                const int64_t limit = a.causal_start < 0 ? a.Tk : a.causal_start + i + 1;
                const int64_t per = a.H * (a.Dh + 2), j0 = u * kDecodeChunk;
                float* row_parts = part + row_part[size_t(r)];
                dfn[s].chunk(a, i, j0, std::min(j0 + kDecodeChunk, limit), row_parts + u * per, buf);
                // The last chunk of the row to finish merges (acq_rel: it sees every other chunk's writes).
                if (pending[size_t(r)].fetch_sub(1, std::memory_order_acq_rel) == 1)
                    dfn[s].merge(a, i, row_parts, row_chunks[size_t(r)]);
                continue;
            }
            const int64_t g = u % groups[s], i = u / groups[s];
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
