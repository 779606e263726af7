// CUDA sampling kernels (semantics in kernels/cuda/cuda_sampling.h): CFG combine over logits[2P, V],
// and one draw per row of logits[R, V] reproducing text/sampling.cpp without a sort. One 1024-thread
// block per row. Candidates are ranked by a 64-bit key (order-preserving image of the logit, then the
// inverted id), so "the first n candidates in the CPU's sorted order" is "key >= t" for one t; the
// top-k cut, the top-p cut and the drawn token are each found exactly by fixing t's 64 bits from the
// top down, one counting/summing pass over the row per bit (double sums, exp cached in scratch).
#include "kernels/cuda/cuda_backend_impl.h"
#include "kernels/cuda/cuda_sampling.h"
#include "kernels/philox.h"

namespace janus {
namespace cuda {
namespace {

constexpr int kSampleThreads = 1024;

// Monotonic map f32 → u32: a < b  <=>  key(a) < key(b) (for non-NaN values).
__device__ __forceinline__ uint32_t order_key(float f) {
    uint32_t u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__global__ void cfg_kernel(float* out, const float* logits, int64_t P, int64_t V, float w, bool interleaved) {
    int64_t total = P * V;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        int64_t p = i / V, v = i % V;
        int64_t cr = interleaved ? 2 * p : p, ur = interleaved ? 2 * p + 1 : P + p;
        float c = logits[cr * V + v], u = logits[ur * V + v];
        out[i] = u + w * (c - u);
    }
}

struct SampleArgs {
    const float* logits;
    int32_t* tokens;
    double* e;  // scratch [R, V]: exp(z − z_max) of the valid candidates, 0 elsewhere
    int64_t V;
    float inv_temp;
    int top_k;
    float top_p, min_p;
    uint64_t seed, stream0, step;
    bool greedy;
};

// The CPU's candidate order as one integer: larger = earlier (higher logit, then lower id).
__device__ __forceinline__ uint64_t rank_key(float x, int64_t v) {
    return (uint64_t(order_key(x)) << 32) | uint64_t(0xffffffffu - uint32_t(v));
}
__device__ __forceinline__ int32_t id_of(uint64_t key) { return int32_t(0xffffffffu - uint32_t(key)); }

__device__ double block_sum_d(double v, double* sh) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    double t = lane < nw ? sh[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
    __syncthreads();
    return t;
}
template <bool MAX>
__device__ uint64_t block_ext_u64(uint64_t v, uint64_t* sh) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) {
        uint64_t w = __shfl_xor_sync(0xffffffffu, v, o);
        v = MAX ? (w > v ? w : v) : (w < v ? w : v);
    }
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    uint64_t t = lane < nw ? sh[lane] : (MAX ? 0ull : ~0ull);
    for (int o = 16; o > 0; o >>= 1) {
        uint64_t w = __shfl_xor_sync(0xffffffffu, t, o);
        t = MAX ? (w > t ? w : t) : (w < t ? w : t);
    }
    __syncthreads();
    return t;
}

// Largest t (64-bit) with pred(Σ_{v : in(v), key(v) >= t} w(v)), for a predicate that holds at t = 0
// or never; the sum only falls as t grows, so the bits can be fixed from the top down.
template <class In, class W, class Pred>
__device__ uint64_t search_threshold(const float* x, int64_t V, In in, W w, Pred pred, double* sh) {
    uint64_t t = 0;
    for (int bit = 63; bit >= 0; bit--) {
        uint64_t cand = t | (1ull << bit);
        double s = 0.0;
        for (int64_t v = threadIdx.x; v < V; v += blockDim.x)
            if (in(v) && rank_key(x[v], v) >= cand) s += w(v);
        if (pred(block_sum_d(s, sh))) t = cand;
    }
    return t;
}

__global__ void __launch_bounds__(kSampleThreads) sample_kernel(SampleArgs a) {
    __shared__ double shd[32];
    __shared__ uint64_t shk[32];
    const int64_t row = blockIdx.x, V = a.V;
    const float* x = a.logits + row * V;
    double* e = a.e + row * V;

    // Argmax over non-NaN values (the CPU's argmax) and the count of valid candidates (> −inf).
    uint64_t best = 0;
    double nvalid = 0.0;
    bool any = false;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
        float xv = x[v];
        if (xv != xv) continue;
        uint64_t k = rank_key(xv, v);
        if (!any || k > best) best = k;
        any = true;
        if (xv > -INFINITY) nvalid += 1.0;
    }
    // Threads that saw only NaN contribute 0, which loses to any real key (order_key(−inf) > 0).
    best = block_ext_u64<true>(any ? best : 0ull, shk);
    nvalid = block_sum_d(nvalid, shd);
    if (a.greedy || nvalid == 0.0) {
        if (threadIdx.x == 0) a.tokens[row] = best == 0 ? 0 : id_of(best);
        return;
    }
    const uint64_t kmax = best;
    const double inv_t = double(a.inv_temp);
    const double lmax = double(x[id_of(kmax)]) * inv_t;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x)
        e[v] = x[v] > -INFINITY ? exp(double(x[v]) * inv_t - lmax) : 0.0;
    __syncthreads();
    auto valid = [&](int64_t v) { return x[v] > -INFINITY; };

    // top-k: exactly k candidates in rank order.
    uint64_t tk = 0;
    if (a.top_k > 0 && double(a.top_k) < nvalid) {
        double k = double(a.top_k);
        tk = search_threshold(x, V, valid, [](int64_t) { return 1.0; }, [k](double c) { return c >= k; }, shd);
    }
    auto kept0 = [&](int64_t v) { return valid(v) && rank_key(x[v], v) >= tk; };
    double sum = 0.0;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x)
        if (kept0(v)) sum += e[v];
    sum = block_sum_d(sum, shd);

    // min-p: prob >= min_p · prob_max (prob_max = 1 / sum); the top candidate always stays.
    const double pthr = a.min_p > 0.0f ? double(a.min_p) * (1.0 / sum) : 0.0;
    auto kept1 = [&](int64_t v) {
        return kept0(v) && (a.min_p <= 0.0f || e[v] / sum >= pthr || rank_key(x[v], v) == kmax);
    };
    // top-p: the shortest rank-order prefix whose probability reaches top_p (all when none does).
    uint64_t tp = 0;
    if (a.top_p < 1.0f) {
        double need = double(a.top_p);
        tp = search_threshold(x, V, kept1, [&](int64_t v) { return e[v] / sum; },
                              [need](double m) { return m >= need; }, shd);
    }
    auto kept2 = [&](int64_t v) { return kept1(v) && rank_key(x[v], v) >= tp; };
    double total = 0.0;
    uint64_t kmin = ~0ull;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x)
        if (kept2(v)) {
            total += e[v] / sum;
            uint64_t k = rank_key(x[v], v);
            kmin = k < kmin ? k : kmin;
        }
    total = block_sum_d(total, shd);
    kmin = block_ext_u64<false>(kmin, shk);

    // Draw: the first candidate in rank order whose cumulative probability exceeds u · total.
    const double target = philox::sample_uniform(a.seed, a.stream0 + uint64_t(row), a.step) * total;
    uint64_t t = search_threshold(x, V, kept2, [&](int64_t v) { return e[v] / sum; },
                                  [target](double m) { return m > target; }, shd);
    if (threadIdx.x == 0) a.tokens[row] = id_of(t != 0 ? t : kmin);  // none: rounding put u·total past the end
}

}  // namespace
}  // namespace cuda

static cuda::CudaBackend& as_cuda(Backend& b, const char* op) {
    auto* c = dynamic_cast<cuda::CudaBackend*>(&b);
    if (!c) throw Error(std::string("cuda ") + op + ": backend " + b.name() + " is not a CUDA backend");
    return *c;
}

void cuda_cfg_combine(Backend& b, const Tensor& out, const Tensor& logits, float weight, bool interleaved) {
    const char* op = "cfg_combine";
    cuda::CudaBackend& c = as_cuda(b, op);
    cuda::check_f32(c, op, "out", out);
    cuda::check_f32(c, op, "logits", logits);
    if (logits.ndim() != 2 || logits.dim(0) % 2 != 0)
        cuda::fail(op, "logits is " + logits.str() + " but must be [2P, V]");
    int64_t P = logits.dim(0) / 2, V = logits.dim(1);
    if (!(out.shape() == Shape{P, V})) cuda::fail(op, "out is " + out.str() + " but must be [P, V] = " + Shape{P, V}.str());
    if (P * V == 0) return;
    c.activate();
    cuda::cfg_kernel<<<cuda::grid_for(P * V), 256, 0, c.stream()>>>(out.ptr<float>(), logits.ptr<float>(), P, V, weight,
                                                                    interleaved);
    JANUS_CUDA_LAUNCH_CHECK("cfg_kernel");
}

void cuda_sample(Backend& b, const Tensor& tokens, const Tensor& logits, const SamplingParams& p, uint64_t stream0,
                 uint64_t step) {
    const char* op = "sample";
    cuda::CudaBackend& c = as_cuda(b, op);
    p.validate();
    cuda::check_f32(c, op, "logits", logits);
    cuda::check_on(c, op, "tokens", tokens);
    if (tokens.dtype() != DType::i32) cuda::fail(op, "tokens is " + tokens.str() + " but must be i32");
    if (logits.ndim() != 2) cuda::fail(op, "logits is " + logits.str() + " but must be [R, V]");
    int64_t R = logits.dim(0), V = logits.dim(1);
    cuda::check_numel(op, "tokens", tokens, R);
    if (V <= 0) cuda::fail(op, "logits has no columns");
    if (V > int64_t(INT32_MAX)) cuda::fail(op, "vocabulary above 2^31 entries is not supported");
    if (R == 0) return;
    cuda::SampleArgs a{};
    a.logits = logits.ptr<float>();
    a.tokens = tokens.ptr<int32_t>();
    a.V = V;
    a.greedy = p.greedy();
    a.inv_temp = a.greedy ? 1.0f : 1.0f / p.temperature;
    a.top_k = p.top_k;
    a.top_p = p.top_p;
    a.min_p = p.min_p;
    a.seed = p.seed;
    a.stream0 = stream0;
    a.step = step;
    a.e = a.greedy ? nullptr : static_cast<double*>(c.scratch(size_t(R * V) * sizeof(double)));
    c.activate();
    cuda::sample_kernel<<<unsigned(R), cuda::kSampleThreads, 0, c.stream()>>>(a);
    JANUS_CUDA_LAUNCH_CHECK("sample_kernel");
}

}  // namespace janus
