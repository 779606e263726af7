// Google Benchmark for the CPU backend's hot ops on Janus-Pro-1B shapes: GEMV (M = 1) and small-M
// GEMM (M = 32) over weights [N, K] in bf16/f32, prefill GEMM (M = 512), decode attention over a
// bf16 KV cache, and the VQ decoder's 3×3 conv. Counters: bytes/s of weights (GEMV) and FLOP/s.
// Weights are replicated to > 256 MiB and cycled so GEMV reads DRAM, not cache.
// Run: build/benchmarks/micro/ops_gbench [--benchmark_filter=Gemv] ; threads: JANUS_BENCH_THREADS (0 = cores).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/cpu/cpu_backend.h"

namespace {

using namespace janus;

Backend& backend() {
    static std::unique_ptr<Backend> be = [] {
        const char* t = std::getenv("JANUS_BENCH_THREADS");
        return make_cpu_backend(t ? std::atoi(t) : 0);
    }();
    return *be;
}

Tensor filled(DType dt, const Shape& s, uint32_t seed) {
    Tensor t = Tensor::empty(dt, s);
    uint32_t x = seed * 2654435761u + 1;
    for (int64_t i = 0; i < t.numel(); i++) {
        x = x * 1664525u + 1013904223u;
        float v = float(int32_t(x >> 8) - (1 << 23)) * (1.0f / float(1 << 26));
        if (dt == DType::f32) t.ptr<float>()[i] = v;
        else t.ptr<uint16_t>()[i] = dt == DType::bf16 ? f32_to_bf16(v) : f32_to_f16(v);
    }
    return t;
}

void run_matmul(benchmark::State& state, DType wt, MatmulPrecision prec) {
    const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
    size_t bytes = size_t(N * K) * dtype_size(wt);
    int copies = int(std::max<size_t>(1, ((size_t(256) << 20) + bytes - 1) / bytes));
    if (M > 1) copies = 1;  // compute-bound: one copy
    std::vector<Tensor> w;
    for (int i = 0; i < copies; i++) w.push_back(filled(wt, {N, K}, uint32_t(i + 1)));
    Tensor x = filled(DType::f32, {M, K}, 99), y = Tensor::empty(DType::f32, {M, N});
    Backend& be = backend();
    size_t i = 0;
    for (auto _ : state) be.matmul(y, x, w[i++ % w.size()], Tensor(), prec, false);
    state.counters["weight_GB/s"] = benchmark::Counter(double(bytes) * double(state.iterations()) / 1e9,
                                                       benchmark::Counter::kIsRate);
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(M * N) * double(K) * double(state.iterations()) / 1e9,
                                                   benchmark::Counter::kIsRate);
}

void matmul_args(benchmark::internal::Benchmark* b) {
    for (int64_t M : {1, 32})
        for (auto [N, K] : std::vector<std::pair<int64_t, int64_t>>{{2048, 2048}, {5632, 2048}, {2048, 5632}, {102400, 2048}})
            b->Args({M, N, K});
    b->Args({512, 2048, 2048});
    b->Args({512, 5632, 2048});
    b->ArgNames({"M", "N", "K"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

void BM_MatmulBf16W_Bf16X(benchmark::State& s) { run_matmul(s, DType::bf16, MatmulPrecision::bf16); }
void BM_MatmulBf16W_F32X(benchmark::State& s) { run_matmul(s, DType::bf16, MatmulPrecision::f32); }
void BM_MatmulF32W(benchmark::State& s) { run_matmul(s, DType::f32, MatmulPrecision::f32); }
BENCHMARK(BM_MatmulBf16W_Bf16X)->Apply(matmul_args);
BENCHMARK(BM_MatmulBf16W_F32X)->Apply(matmul_args);
BENCHMARK(BM_MatmulF32W)->Apply(matmul_args);

void BM_AttentionDecode(benchmark::State& state) {
    const int64_t Tk = state.range(0), H = 16, Dh = 128;
    Tensor q = filled(DType::f32, {1, H, Dh}, 1), o = Tensor::empty(DType::f32, {1, H, Dh});
    Tensor k = filled(DType::bf16, {Tk, H, Dh}, 2), v = filled(DType::bf16, {Tk, H, Dh}, 3);
    for (auto _ : state) backend().attention(o, q, k, v, 0.088f, Tk - 1);
    state.counters["kv_GB/s"] = benchmark::Counter(double(k.nbytes() + v.nbytes()) * double(state.iterations()) / 1e9,
                                                   benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AttentionDecode)->Arg(600)->Arg(4096)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_Conv3x3(benchmark::State& state) {
    const int64_t S = state.range(0), C = 128;
    Tensor x = filled(DType::f32, {1, C, S, S}, 4), y = Tensor::empty(DType::f32, {1, C, S, S});
    Tensor w = filled(DType::bf16, {C, C, 3, 3}, 5), b = filled(DType::f32, {C}, 6);
    for (auto _ : state) backend().conv2d(y, x, w, b, Conv2dParams::same(1));
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(C * C * 9) * double(S * S) * double(state.iterations()) / 1e9,
                                                   benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Conv3x3)->Arg(96)->Arg(384)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
