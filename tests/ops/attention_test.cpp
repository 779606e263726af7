// Op table cases: attention out[Tq, H, Dh] = softmax(q·kᵀ·scale + mask)·v over a KV cache
// k/v[Tk, Hkv, Dh] in f32/bf16/f16 — causal decode (Tq = 1), causal chunks with causal_start > 0 and
// Tq > 1, GQA (H / Hkv = 4), a cache longer than the causal window (trailing keys must be ignored),
// and full non-causal attention (SigLIP's head dim 72; long ones, >= 32 rows, as in SigLIP/VQ, with key,
// row and head-dim tails); attention_multi over batches of sequences
// (views of one stacked cache, mixed lengths/starts), also bitwise vs attention(). Reference: float64 softmax and sums over the
// stored k/v values. Tolerance 1e-5 absolute + 1e-4 relative (f32 scores, exp and sums).
#include "op_test.h"

namespace optest {
namespace {

// float64 reference of one attention problem over the stored (already rounded) values.
std::vector<double> attention_ref(const std::vector<float>& q, const std::vector<float>& k,
                                  const std::vector<float>& v, int Tq, int Tk, int H, int Hkv, int Dh,
                                  int64_t causal_start, double scale) {
    std::vector<double> ref(q.size());
    for (int i = 0; i < Tq; i++)
        for (int h = 0; h < H; h++) {
            int hk = h / (H / Hkv);
            int limit = causal_start < 0 ? Tk : int(causal_start) + i + 1;
            std::vector<double> s(static_cast<size_t>(limit));
            double mx = -INFINITY;
            for (int j = 0; j < limit; j++) {
                double d = 0;
                for (int e = 0; e < Dh; e++)
                    d += double(q[(size_t(i) * H + h) * Dh + e]) * k[(size_t(j) * Hkv + hk) * Dh + e];
                s[j] = d * scale;
                mx = std::max(mx, s[j]);
            }
            double sum = 0;
            for (auto& x : s) sum += (x = std::exp(x - mx));
            for (int e = 0; e < Dh; e++) {
                double o = 0;
                for (int j = 0; j < limit; j++) o += s[j] * v[(size_t(j) * Hkv + hk) * Dh + e];
                ref[(size_t(i) * H + h) * Dh + e] = o / sum;
            }
        }
    return ref;
}

void attention_case(Backend& be, int Tq, int Tk, int H, int Hkv, int Dh, int64_t causal_start, DType kvt) {
    std::vector<float> q = uniform(size_t(Tq) * H * Dh, 71 + Tq, -1.5f, 1.5f);
    std::vector<float> k = uniform(size_t(Tk) * Hkv * Dh, 72 + Tk, -1.5f, 1.5f);
    std::vector<float> v = uniform(size_t(Tk) * Hkv * Dh, 73 + Dh, -2, 2);
    Tensor tq = to_backend(be, host_tensor(DType::f32, {Tq, H, Dh}, q));
    Tensor tk = to_backend(be, host_tensor(kvt, {Tk, Hkv, Dh}, k));
    Tensor tv = to_backend(be, host_tensor(kvt, {Tk, Hkv, Dh}, v));
    Tensor to = alloc_on(be, DType::f32, {Tq, H, Dh});
    const float scale = float(1.0 / std::sqrt(double(Dh)));
    be.attention(to, tq, tk, tv, scale, causal_start);
    expect_close(fetch(be, to), attention_ref(q, k, v, Tq, Tk, H, Hkv, Dh, causal_start, scale), Tol{1e-5, 1e-4},
                 "attention");
}

// attention_multi over a batch shaped like LlamaModel's: every sequence has its own rows of one
// stacked q/out and its own slot of one stacked cache [S, Tmax, Hkv, Dh] (views, as the model
// passes them), its own cache length and causal start; plus a non-causal entry. Each entry must match
// the float64 reference (attention's tolerance) and be bitwise equal to a single attention() call.
void attention_multi_case(Backend& be, DType kvt, const std::vector<std::pair<int, int64_t>>& seqs, int H,
                          int Hkv, int Dh) {
    const int S = int(seqs.size()), Tmax = 48;
    int rows = 0;
    for (auto& [n, cs] : seqs) rows += n;
    std::vector<float> q = uniform(size_t(rows) * H * Dh, 91, -1.5f, 1.5f);
    std::vector<float> k = uniform(size_t(S) * Tmax * Hkv * Dh, 92, -1.5f, 1.5f);
    std::vector<float> v = uniform(size_t(S) * Tmax * Hkv * Dh, 93, -2, 2);
    Tensor tq = to_backend(be, host_tensor(DType::f32, {rows, H, Dh}, q));
    Tensor tk = to_backend(be, host_tensor(kvt, {S, Tmax, Hkv, Dh}, k));
    Tensor tv = to_backend(be, host_tensor(kvt, {S, Tmax, Hkv, Dh}, v));
    Tensor to = alloc_on(be, DType::f32, {rows, H, Dh});
    Tensor to1 = alloc_on(be, DType::f32, {rows, H, Dh});
    const float scale = float(1.0 / std::sqrt(double(Dh)));
    std::vector<Backend::AttentionSeq> batch;
    int r = 0;
    for (int s = 0; s < S; s++) {
        const auto [n, cs] = seqs[size_t(s)];
        const int Tk = cs < 0 ? Tmax - s : int(cs) + n;  // non-causal: the whole (shorter) slot
        Backend::AttentionSeq e{to.rows(r, r + n).reshape({n, H, Dh}), tq.rows(r, r + n).reshape({n, H, Dh}),
                                tk.rows(s, s + 1).reshape({Tmax, Hkv, Dh}).rows(0, Tk),
                                tv.rows(s, s + 1).reshape({Tmax, Hkv, Dh}).rows(0, Tk), cs};
        batch.push_back(e);
        be.attention(to1.rows(r, r + n).reshape({n, H, Dh}), e.q, e.k, e.v, scale, cs);
        r += n;
    }
    be.attention_multi(batch, scale);
    const std::vector<float> got = fetch(be, to), single = fetch(be, to1);
    expect_bitwise(got, single, "attention_multi vs attention");
    r = 0;
    for (int s = 0; s < S; s++) {
        const auto [n, cs] = seqs[size_t(s)];
        const int Tk = cs < 0 ? Tmax - s : int(cs) + n;
        const size_t row = size_t(H) * Dh, slot = size_t(Tmax) * Hkv * Dh;
        std::vector<float> qs(q.begin() + long(r * row), q.begin() + long((r + n) * row));
        std::vector<float> ks(k.begin() + long(s * slot), k.begin() + long(s * slot + size_t(Tk) * Hkv * Dh));
        std::vector<float> vs(v.begin() + long(s * slot), v.begin() + long(s * slot + size_t(Tk) * Hkv * Dh));
        std::vector<float> gs(got.begin() + long(r * row), got.begin() + long((r + n) * row));
        expect_close(gs, attention_ref(qs, ks, vs, n, Tk, H, Hkv, Dh, cs, scale), Tol{1e-5, 1e-4},
                     "attention_multi entry " + std::to_string(s));
        r += n;
    }
}

bool register_attention_cases() {
    struct A { const char* name; int Tq, Tk, H, Hkv, Dh; int64_t cs; };
    const A cases[] = {
        {"decode_Tk17", 1, 17, 4, 4, 64, 16},
        {"decode_gqa_Dh128", 1, 300, 8, 2, 128, 299},
        {"chunk_start7_Tq5_gqa", 5, 12, 8, 2, 64, 7},
        {"prefill_causal_Tq9_mqa", 9, 9, 4, 1, 32, 0},
        {"cache_longer_than_window", 4, 20, 2, 2, 16, 3},
        {"noncausal_Dh72", 10, 10, 4, 4, 72, -1},
        {"noncausal_cross_Tq3_Tk40", 3, 40, 2, 1, 24, -1},
        // >= 32 query rows, non-causal: the CPU's tiled flash kernel (key/row/head-dim tails)
        {"noncausal_long_Tq100_gqa_Dh72", 100, 100, 4, 2, 72, -1},
        {"noncausal_long_Tq70_Tk130", 70, 130, 2, 2, 64, -1},
        {"noncausal_long_Dh512_one_head", 33, 67, 1, 1, 512, -1},
    };
    for (const A& a : cases)
        for (DType t : {DType::f32, DType::bf16, DType::f16}) {
            A c = a;
            add_case(std::string("attention_") + a.name + "_kv" + janus::dtype_name(t),
                     [c, t](Backend& be) { attention_case(be, c.Tq, c.Tk, c.H, c.Hkv, c.Dh, c.cs, t); });
        }
    for (DType t : {DType::f32, DType::bf16, DType::f16}) {
        // decode batch: 9 sequences, one row each, different cache lengths (+ one non-causal entry)
        add_case(std::string("attention_multi_decode9_gqa_kv") + janus::dtype_name(t), [t](Backend& be) {
            attention_multi_case(be, t, {{1, 0}, {1, 5}, {1, 31}, {1, 47}, {1, 12}, {1, 2}, {1, 40}, {1, 9}, {2, -1}},
                                 8, 2, 64);
        });
        // mixed prefill chunks and decode rows (continuous batching), head dim with a tail
        add_case(std::string("attention_multi_mixed_Dh72_kv") + janus::dtype_name(t), [t](Backend& be) {
            attention_multi_case(be, t, {{7, 0}, {1, 20}, {5, 30}, {1, 3}}, 4, 4, 72);
        });
    }
    return true;
}
const bool attention_registered = register_attention_cases();

OP_CASE("attention_bad_shapes_throw", [](Backend& be) {
    std::vector<float> v = uniform(4 * 6 * 8, 5);
    std::vector<float> qv(v.begin(), v.begin() + 2 * 6 * 8), kv(v.begin(), v.begin() + 4 * 4 * 8),
        k8(v.begin(), v.begin() + 4 * 2 * 8);
    Tensor q = to_backend(be, host_tensor(DType::f32, {2, 6, 8}, qv));
    Tensor k_h4 = to_backend(be, host_tensor(DType::f32, {4, 4, 8}, kv));  // 6 heads not a multiple of 4
    Tensor k = to_backend(be, host_tensor(DType::f32, {4, 2, 8}, k8));
    Tensor out = alloc_on(be, DType::f32, {2, 6, 8});
    EXPECT_THROW(be.attention(out, q, k_h4, k_h4, 1.0f, -1), janus::Error) << "GQA ratio";
    EXPECT_THROW(be.attention(out, q, k, k, 1.0f, 3), janus::Error) << "Tk < causal_start + Tq";
    Tensor out_bad = alloc_on(be, DType::f32, {2, 6, 4});
    EXPECT_THROW(be.attention(out_bad, q, k, k, 1.0f, -1), janus::Error) << "out shape";
    std::vector<Backend::AttentionSeq> batch{{out, q, k, k, -1}, {out, q, k, k, 3}};
    EXPECT_THROW(be.attention_multi(batch, 1.0f), janus::Error) << "attention_multi: bad second entry";
    batch = {{out, q, k, k, -1}, {out, q, k_h4, k_h4, -1}};
    EXPECT_THROW(be.attention_multi(batch, 1.0f), janus::Error) << "attention_multi: GQA ratio";
});

}  // namespace
}  // namespace optest
