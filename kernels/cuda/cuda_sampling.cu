// CUDA sampling kernel (semantics in kernels/cuda/cuda_sampling.h): one draw per row of
// logits[R, V] reproducing text/sampling.cpp without a sort: one 1024-thread
// block per row runs sample_core::sample_row (kernels/cuda/sample_core.h, the same code the host
// test runs) with a block executor — strided loops, double block reductions, exp cached in scratch.
#include <cmath>

#include "kernels/cuda/cuda_backend_impl.h"
#include "kernels/cuda/cuda_sampling.h"
#include "kernels/cuda/sample_core.h"
#include "kernels/philox.h"

namespace janus {
namespace cuda {
namespace {

constexpr int kSampleThreads = 1024;

struct SampleArgs {
    const float* logits;
    int32_t* tokens;
    double* e;  // scratch [R, V]
    int64_t V;
    sample_core::Params p;
    uint64_t seed, stream0, step;
};

template <bool MAX>
__device__ uint64_t block_ext_u64(uint64_t v, uint64_t* sh, uint64_t id) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) {
        uint64_t w = __shfl_xor_sync(0xffffffffu, v, o);
        v = MAX ? (w > v ? w : v) : (w < v ? w : v);
    }
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    uint64_t t = lane < nw ? sh[lane] : id;
    for (int o = 16; o > 0; o >>= 1) {
        uint64_t w = __shfl_xor_sync(0xffffffffu, t, o);
        t = MAX ? (w > t ? w : t) : (w < t ? w : t);
    }
    __syncthreads();
    return t;
}

// sample_core's executor for one block: strided loops over the row, block-wide reductions.
struct BlockExec {
    int64_t V;
    double* shd;
    uint64_t* shk;
    template <class F> __device__ double sum(F f) {
        double s = 0.0;
        for (int64_t v = threadIdx.x; v < V; v += blockDim.x) s += f(v);
        return block_sum_d(s, shd);
    }
    template <class F> __device__ uint64_t max_u64(F f, uint64_t id) {
        uint64_t m = id;
        for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
            uint64_t k = f(v);
            m = k > m ? k : m;
        }
        return block_ext_u64<true>(m, shk, id);
    }
    template <class F> __device__ uint64_t min_u64(F f, uint64_t id) {
        uint64_t m = id;
        for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
            uint64_t k = f(v);
            m = k < m ? k : m;
        }
        return block_ext_u64<false>(m, shk, id);
    }
    template <class F> __device__ void for_each(F f) {
        for (int64_t v = threadIdx.x; v < V; v += blockDim.x) f(v);
        __syncthreads();
    }
};

__global__ void __launch_bounds__(kSampleThreads) sample_kernel(SampleArgs a) {
    __shared__ double shd[32];
    __shared__ uint64_t shk[32];
    const int64_t row = blockIdx.x;
    BlockExec ex{a.V, shd, shk};
    sample_core::Params p = a.p;
    p.uniform = philox::sample_uniform(a.seed, a.stream0 + uint64_t(row), a.step);
    int32_t tok = sample_core::sample_row(ex, a.logits + row * a.V, a.e ? a.e + row * a.V : nullptr, p);
    if (threadIdx.x == 0) a.tokens[row] = tok;
}

}  // namespace
}  // namespace cuda

static cuda::CudaBackend& as_cuda(Backend& b, const char* op) {
    auto* c = dynamic_cast<cuda::CudaBackend*>(&b);
    if (!c) throw Error(std::string("cuda ") + op + ": backend " + b.name() + " is not a CUDA backend");
    return *c;
}

void cuda_sample(Backend& b, const Tensor& tokens, const Tensor& logits, const CudaSampleParams& p, uint64_t stream0,
                 uint64_t step) {
    const char* op = "sample";
    cuda::CudaBackend& c = as_cuda(b, op);
    if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature))  // as SamplingParams::validate
        cuda::fail(op, "temperature must be a finite number >= 0 (0 = greedy), got " + std::to_string(p.temperature));
    if (p.top_k < 0) cuda::fail(op, "top_k must be >= 0 (0 = off), got " + std::to_string(p.top_k));
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) cuda::fail(op, "top_p must be in (0, 1], got " + std::to_string(p.top_p));
    if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) cuda::fail(op, "min_p must be in [0, 1], got " + std::to_string(p.min_p));
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
    a.p.greedy = p.temperature <= 0.0f || p.top_k == 1;  // SamplingParams::greedy()
    a.p.inv_temp = a.p.greedy ? 1.0f : 1.0f / p.temperature;
    a.p.top_k = p.top_k;
    a.p.top_p = p.top_p;
    a.p.min_p = p.min_p;
    a.seed = p.seed;
    a.stream0 = stream0;
    a.step = step;
    a.e = a.p.greedy ? nullptr : static_cast<double*>(c.scratch(size_t(R * V) * sizeof(double)));
    c.activate();
    cuda::sample_kernel<<<unsigned(R), cuda::kSampleThreads, 0, c.stream()>>>(a);
    JANUS_CUDA_LAUNCH_CHECK("sample_kernel");
}

}  // namespace janus
