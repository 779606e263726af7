// CUDA sampling kernels (semantics in kernels/cuda/cuda_sampling.h): CFG combine over logits[2P, V]
// and one categorical draw per row of logits[R, V] with temperature, top-k, top-p and a Philox4x32-10
// uniform. One 1024-thread block per row; the top-k / top-p thresholds are found exactly by a
// bit-by-bit search over the order-preserving integer image of the f32 values (32 counting passes,
// no sort), the draw by a chunked prefix sum in token-id order.
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
    int64_t V;
    float inv_temp;
    int top_k;
    float top_p;
    uint64_t seed, step;
    bool greedy;
};

__global__ void __launch_bounds__(kSampleThreads) sample_kernel(SampleArgs a) {
    __shared__ float red[32];
    __shared__ float chunk_sum[kSampleThreads];
    __shared__ int64_t best_idx[kSampleThreads];
    __shared__ float best_val[kSampleThreads];
    const int64_t row = blockIdx.x, V = a.V;
    const float* x = a.logits + row * V;
    const int tid = threadIdx.x;

    if (a.greedy) {  // argmax, lowest index among equal maxima
        float bv = -INFINITY;
        int64_t bi = -1;
        for (int64_t v = tid; v < V; v += blockDim.x)
            if (bi < 0 || x[v] > bv) {
                bv = x[v];
                bi = v;
            }
        best_val[tid] = bv;
        best_idx[tid] = bi;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (tid < s) {
                float ov = best_val[tid + s];
                int64_t oi = best_idx[tid + s];
                if (oi >= 0 && (best_idx[tid] < 0 || ov > best_val[tid] || (ov == best_val[tid] && oi < best_idx[tid]))) {
                    best_val[tid] = ov;
                    best_idx[tid] = oi;
                }
            }
            __syncthreads();
        }
        if (tid == 0) a.tokens[row] = int32_t(best_idx[0] < 0 ? 0 : best_idx[0]);
        return;
    }

    auto z_of = [&](int64_t v) { return x[v] * a.inv_temp; };
    float zmax = -INFINITY;
    for (int64_t v = tid; v < V; v += blockDim.x) zmax = fmaxf(zmax, z_of(v));
    zmax = block_max(zmax, red);

    // Threshold keys: kept = key(z) >= thr.
    uint32_t thr = 0;
    if (a.top_k > 1 && int64_t(a.top_k) < V) {
        for (int bit = 31; bit >= 0; bit--) {
            uint32_t cand = thr | (1u << bit);
            float cnt = 0.0f;
            for (int64_t v = tid; v < V; v += blockDim.x) cnt += order_key(z_of(v)) >= cand ? 1.0f : 0.0f;
            if (block_sum(cnt, red) >= float(a.top_k)) thr = cand;  // counts are exact in f32 below 2^24
        }
    }
    if (a.top_p > 0.0f && a.top_p < 1.0f) {
        float total = 0.0f;
        for (int64_t v = tid; v < V; v += blockDim.x) {
            float z = z_of(v);
            if (order_key(z) >= thr) total += expf(z - zmax);
        }
        total = block_sum(total, red);
        float need = a.top_p * total;
        // Largest t with mass(key >= max(t, thr)) >= need; the mass only falls as t grows.
        uint32_t t = 0;
        for (int bit = 31; bit >= 0; bit--) {
            uint32_t cand = t | (1u << bit);
            uint32_t lo = cand > thr ? cand : thr;
            float mass = 0.0f;
            for (int64_t v = tid; v < V; v += blockDim.x) {
                float z = z_of(v);
                if (order_key(z) >= lo) mass += expf(z - zmax);
            }
            if (block_sum(mass, red) >= need) t = cand;
        }
        thr = t > thr ? t : thr;
    }

    // Draw: contiguous chunks in id order, prefix over chunk sums.
    int64_t chunk = (V + blockDim.x - 1) / blockDim.x;
    int64_t c0 = min(V, tid * chunk), c1 = min(V, c0 + chunk);
    float local = 0.0f;
    int64_t last_kept = -1;
    for (int64_t v = c0; v < c1; v++) {
        float z = z_of(v);
        if (order_key(z) >= thr) {
            local += expf(z - zmax);
            last_kept = v;
        }
    }
    chunk_sum[tid] = local;
    best_idx[tid] = last_kept;
    __syncthreads();
    if (tid == 0) {  // serial exclusive scan: deterministic and cheap next to the passes above
        float run = 0.0f;
        int64_t lk = -1;
        for (int t = 0; t < int(blockDim.x); t++) {
            float s = chunk_sum[t];
            chunk_sum[t] = run;
            run += s;
            if (best_idx[t] >= 0) lk = best_idx[t];
        }
        best_val[0] = run;
        best_idx[0] = lk;
        a.tokens[row] = int32_t(lk < 0 ? 0 : lk);  // fallback when rounding leaves the target past the end
    }
    __syncthreads();
    float total = best_val[0];
    float target = philox::sample_uniform(a.seed, a.step, uint32_t(row)) * total;
    float run = chunk_sum[tid];
    if (local > 0.0f && run <= target && target < run + local) {
        for (int64_t v = c0; v < c1; v++) {
            float z = z_of(v);
            if (order_key(z) >= thr) {
                run += expf(z - zmax);
                if (run > target) {
                    a.tokens[row] = int32_t(v);
                    break;
                }
            }
        }
    }
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

void cuda_sample(Backend& b, const Tensor& tokens, const Tensor& logits, const SamplingParams& p) {
    const char* op = "sample";
    cuda::CudaBackend& c = as_cuda(b, op);
    cuda::check_f32(c, op, "logits", logits);
    cuda::check_on(c, op, "tokens", tokens);
    if (tokens.dtype() != DType::i32) cuda::fail(op, "tokens is " + tokens.str() + " but must be i32");
    if (logits.ndim() != 2) cuda::fail(op, "logits is " + logits.str() + " but must be [R, V]");
    int64_t R = logits.dim(0), V = logits.dim(1);
    cuda::check_numel(op, "tokens", tokens, R);
    if (V <= 0) cuda::fail(op, "logits has no columns");
    if (V > (int64_t(1) << 24)) cuda::fail(op, "vocabulary above 2^24 entries is not supported");
    if (p.top_k < 0) cuda::fail(op, "top_k must be >= 0");
    if (!(p.top_p > 0.0f)) cuda::fail(op, "top_p must be > 0");
    if (R == 0) return;
    cuda::SampleArgs a{};
    a.logits = logits.ptr<float>();
    a.tokens = tokens.ptr<int32_t>();
    a.V = V;
    a.greedy = !(p.temperature > 0.0f) || p.top_k == 1;
    a.inv_temp = a.greedy ? 1.0f : 1.0f / p.temperature;
    a.top_k = p.top_k;
    a.top_p = p.top_p;
    a.seed = p.seed;
    a.step = p.step;
    c.activate();
    cuda::sample_kernel<<<unsigned(R), cuda::kSampleThreads, 0, c.stream()>>>(a);
    JANUS_CUDA_LAUNCH_CHECK("sample_kernel");
}

}  // namespace janus
