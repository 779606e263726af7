// The sampling algorithm of kernels/cuda/cuda_sampling.cu, written once for a generic executor so the
// same code runs in the CUDA kernel (one block per row: strided loops + block reductions) and on the
// host (sequential loops), where tests/cuda checks it against text/sampling.cpp's sample_token.
//
// Candidates of a row x[V] are ranked by a 64-bit key: the order-preserving integer image of the
// logit, then the inverted id (higher logit first, then lower id — the CPU sampler's sort order).
// "The first n candidates in sorted order" is then "key >= t" for one t, so the top-k cut, the top-p
// cut and the drawn token are each found by fixing t's 64 bits from the top down, one counting or
// summing pass over the row per bit. No sort, O(64·V) work per search, exact.
//
// An executor provides (all threads of a block see the same results):
//   double sum(f)            Σ_{v<V} f(v)
//   uint64_t max_u64(f, id)  max_{v<V} f(v) (id: the value for an empty set), likewise min_u64
//   void for_each(f)         f(v) for every v (each v by one thread), followed by barrier()
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define JANUS_SAMPLE_HD __host__ __device__ __forceinline__
// The executor decides where a template instance runs (BlockExec: device, HostExec: host).
#define JANUS_SAMPLE_EXEC_CHECK_OFF _Pragma("nv_exec_check_disable")
#else
#define JANUS_SAMPLE_HD inline
#define JANUS_SAMPLE_EXEC_CHECK_OFF
#endif

namespace janus::sample_core {

// Monotonic map f32 → u32 for non-NaN values: a < b  <=>  key(a) < key(b), and a == b  <=>
// key(a) == key(b) — so −0 and +0 get one key (the CPU sampler compares floats: −0 == +0, and the
// lower id wins the tie; without this, +0 would rank above −0).
JANUS_SAMPLE_HD uint32_t order_key(float f) {
    if (f == 0.0f) f = 0.0f;  // −0 → +0
#if defined(__CUDA_ARCH__)
    uint32_t u = __float_as_uint(f);
#else
    uint32_t u;
    std::memcpy(&u, &f, 4);
#endif
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
JANUS_SAMPLE_HD uint64_t rank_key(float x, int64_t v) {
    return (uint64_t(order_key(x)) << 32) | uint64_t(0xffffffffu - uint32_t(v));
}
JANUS_SAMPLE_HD int32_t id_of(uint64_t key) { return int32_t(0xffffffffu - uint32_t(key)); }

struct Params {
    float inv_temp = 1.0f;  // 1 / temperature, as the CPU computes it (f32)
    int top_k = 0;
    float top_p = 1.0f, min_p = 0.0f;
    bool greedy = false;
    double uniform = 0.0;  // philox::sample_uniform(seed, stream, step)
};

// Largest t with pred(Σ_{v : in(v), key(v) >= t} w(v)), given pred holds at t = 0 or nowhere; the sum
// only falls as t grows, so the bits can be fixed from the top down.
JANUS_SAMPLE_EXEC_CHECK_OFF
template <class Exec, class In, class W, class Pred>
JANUS_SAMPLE_HD uint64_t search_threshold(Exec& ex, const float* x, In in, W w, Pred pred) {
    uint64_t t = 0;
    for (int bit = 63; bit >= 0; bit--) {
        uint64_t cand = t | (uint64_t(1) << bit);
        double s = ex.sum([&](int64_t v) { return in(v) && rank_key(x[v], v) >= cand ? w(v) : 0.0; });
        if (pred(s)) t = cand;
    }
    return t;
}

// The token for row x[V] (e: scratch of V doubles). Mirrors text/sampling.cpp's sample_token with no
// penalties: greedy → argmax over non-NaN values (lowest id on ties; 0 when all are NaN); candidates
// are the values > −inf (none: argmax); then temperature → top-k → softmax → min-p → top-p → draw.
JANUS_SAMPLE_EXEC_CHECK_OFF
template <class Exec>
JANUS_SAMPLE_HD int32_t sample_row(Exec& ex, const float* x, double* e, const Params& p) {
    // Argmax key over non-NaN values; NaN contributes 0, below every real key (order_key(−inf) > 0).
    uint64_t best = ex.max_u64([&](int64_t v) { return x[v] == x[v] ? rank_key(x[v], v) : uint64_t(0); }, 0);
    double nvalid = ex.sum([&](int64_t v) { return x[v] > -INFINITY ? 1.0 : 0.0; });
    if (p.greedy || nvalid == 0.0) return best == 0 ? 0 : id_of(best);

    const uint64_t kmax = best;  // the top candidate (a valid one, since nvalid > 0)
    const double inv_t = double(p.inv_temp);
    const double lmax = double(x[id_of(kmax)]) * inv_t;
    ex.for_each([&](int64_t v) { e[v] = x[v] > -INFINITY ? exp(double(x[v]) * inv_t - lmax) : 0.0; });
    auto valid = [&](int64_t v) { return x[v] > -INFINITY; };

    // top-k: exactly k candidates in rank order.
    uint64_t tk = 0;
    if (p.top_k > 0 && double(p.top_k) < nvalid) {
        const double k = double(p.top_k);
        tk = search_threshold(ex, x, valid, [](int64_t) { return 1.0; }, [k](double c) { return c >= k; });
    }
    auto kept0 = [&](int64_t v) { return valid(v) && rank_key(x[v], v) >= tk; };
    const double sum = ex.sum([&](int64_t v) { return kept0(v) ? e[v] : 0.0; });

    // min-p: prob >= min_p · prob_max, prob_max = 1 / sum; the top candidate always stays.
    const double pthr = p.min_p > 0.0f ? double(p.min_p) * (1.0 / sum) : 0.0;
    auto kept1 = [&](int64_t v) {
        return kept0(v) && (p.min_p <= 0.0f || e[v] / sum >= pthr || rank_key(x[v], v) == kmax);
    };
    auto prob = [&](int64_t v) { return e[v] / sum; };
    // top-p: the shortest rank-order prefix whose probability reaches top_p (all when none does).
    uint64_t tp = 0;
    if (p.top_p < 1.0f) {
        const double need = double(p.top_p);
        tp = search_threshold(ex, x, kept1, prob, [need](double m) { return m >= need; });
    }
    auto kept2 = [&](int64_t v) { return kept1(v) && rank_key(x[v], v) >= tp; };
    const double total = ex.sum([&](int64_t v) { return kept2(v) ? prob(v) : 0.0; });
    const uint64_t kmin = ex.min_u64([&](int64_t v) { return kept2(v) ? rank_key(x[v], v) : ~uint64_t(0); }, ~uint64_t(0));

    // Draw: the first candidate in rank order whose cumulative probability exceeds u · total.
    const double target = p.uniform * total;
    uint64_t t = search_threshold(ex, x, kept2, prob, [target](double m) { return m > target; });
    return id_of(t != 0 ? t : kmin);  // none: rounding put u · total past the end
}

// Sequential executor for the host.
struct HostExec {
    int64_t V;
    template <class F> double sum(F f) {
        double s = 0;
        for (int64_t v = 0; v < V; v++) s += f(v);
        return s;
    }
    template <class F> uint64_t max_u64(F f, uint64_t id) {
        for (int64_t v = 0; v < V; v++) id = f(v) > id ? f(v) : id;
        return id;
    }
    template <class F> uint64_t min_u64(F f, uint64_t id) {
        for (int64_t v = 0; v < V; v++) id = f(v) < id ? f(v) : id;
        return id;
    }
    template <class F> void for_each(F f) {
        for (int64_t v = 0; v < V; v++) f(v);
    }
};

}  // namespace janus::sample_core

#undef JANUS_SAMPLE_HD
#undef JANUS_SAMPLE_EXEC_CHECK_OFF
