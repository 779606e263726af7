// Roofline measurements on the CPU backend's pool (see roofline.h for the patterns and why the
// bandwidth is the best of several). Timing: best of `repeats` passes after a warm-up pass, with the
// monotonic clock (or the thread's CPU clock for single-threaded --cpu-time runs).
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>

#include "benchmarks/roofline.h"
#include "janus/error.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend_impl.h"

namespace janus::bench {

namespace {

double now_s(bool cpu_clock) {
    timespec t;
    clock_gettime(cpu_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

cpu::ThreadPool& pool() {
    auto* cpu = dynamic_cast<cpu::CpuBackend*>(&cpu_backend());
    if (!cpu) throw Error("roofline: the CPU backend is not the built-in one");
    return cpu->pool();
}

// Best seconds of `repeats` calls after one warm-up call.
double best_of(int repeats, bool cpu_clock, const std::function<void(int)>& fn) {
    fn(0);
    double best = 1e30;
    for (int i = 1; i <= std::max(1, repeats); i++) {
        double t0 = now_s(cpu_clock);
        fn(i);
        best = std::min(best, now_s(cpu_clock) - t0);
    }
    return best;
}

}  // namespace

Roofline measure_read_bandwidth(const RooflineOptions& o) {
    cpu::ThreadPool& tp = pool();
    const int64_t threads = tp.size();
    Roofline r;
    r.threads = int(threads);
    const size_t block = 32768;
    const size_t per = size_t(o.read_bytes) / size_t(threads) / block * block;
    const size_t bytes = per * size_t(threads);
    if (per == 0) throw Error("roofline: read_bytes too small for the thread count");
    Tensor buf = Tensor::empty(DType::u8, {int64_t(bytes)});
    std::memset(buf.data(), 1, bytes);
    const char* base = static_cast<const char*>(buf.data());
    std::vector<float> sink(size_t(threads), 0.0f);
    auto add = [&](const std::string& name, double seconds, double moved) {
        double gbps = moved / seconds / 1e9;
        r.patterns.push_back({name, gbps});
        if (o.progress) std::fprintf(stderr, "  roofline read %-8s %6.1f GB/s\n", name.c_str(), gbps);
        if (gbps > r.read_gbps) r.read_gbps = gbps, r.read_pattern = name;
    };

    const size_t chunk = size_t(4) << 20;
    const int64_t chunks = int64_t(bytes / chunk);
    if (chunks > 0)
        add("chunks", best_of(o.repeats, o.cpu_clock, [&](int) {
                tp.parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
                    for (int64_t c = b; c < e; c++) sink[0] += 0 * stream_read(base + size_t(c) * chunk, chunk);
                });
            }), double(chunks) * double(chunk));
    add("slices", best_of(o.repeats, o.cpu_clock, [&](int) {
            tp.parallel_for(threads, 1, [&](int64_t b, int64_t e) {
                for (int64_t t = b; t < e; t++) sink[size_t(t)] += stream_read(base + per * size_t(t), per);
            });
        }), double(bytes));
    // Same slices in 32 KiB blocks (eight 4 KiB page streams each), every thread walking its slice
    // from two ends at once: two independent sequential streams per thread, as a GEMV reading rows
    // from two row panels.
    add("streams", best_of(o.repeats, o.cpu_clock, [&](int) {
            tp.parallel_for(threads, 1, [&](int64_t b, int64_t e) {
                for (int64_t t = b; t < e; t++) {
                    const char* s = base + per * size_t(t);
                    const size_t half = per / 2 / block * block;
                    float acc = 0;
                    for (size_t off = 0; off < half; off += block) {
                        acc += stream_read(s + off, block);
                        acc += stream_read(s + half + off, block);
                    }
                    if (per > 2 * half) acc += stream_read(s + 2 * half, per - 2 * half);
                    sink[size_t(t)] += acc;
                }
            });
        }), double(bytes));
    buf = Tensor();

    if (o.gemv) {
        // The GEMV's own pattern: the backend's bf16 matmul at M = 1 (the decode step's op) over
        // weight copies cycled so that the working set exceeds the caches.
        Backend& be = cpu_backend();
        const int64_t N = 5632, K = 2048;
        const size_t wbytes = size_t(N * K) * 2;
        const int copies = int(std::max<size_t>(2, size_t(o.read_bytes) / 2 / wbytes));
        std::vector<Tensor> w;
        for (int i = 0; i < copies; i++) {
            w.push_back(be.alloc(DType::bf16, {N, K}));
            std::memset(w.back().data(), 0x3c + i % 3, wbytes);  // small finite bf16 values
        }
        Tensor x = be.alloc(DType::f32, {1, K}), y = be.alloc(DType::f32, {1, N});
        std::memset(x.data(), 0, size_t(K) * 4);
        double t = best_of(o.repeats, o.cpu_clock, [&](int) {
            for (int i = 0; i < copies; i++)
                be.matmul(y, x, w[size_t(i)], Tensor(), MatmulPrecision::bf16, false);
        });
        add("gemv", t, double(wbytes) * copies);
    }
    float s = 0;
    for (float v : sink) s += v;
    if (s == 12345.678f) std::fprintf(stderr, " ");  // keeps the reads
    return r;
}

double measure_peak_gflops(bool bf16, const RooflineOptions& o) {
    cpu::ThreadPool& tp = pool();
    double (*loop)(int64_t) = bf16 ? bf16_peak_loop : fma_peak_loop;
    const int64_t iters = 4000;  // 24 vector ops each: ~0.1-0.3 ms per task
    const int64_t tasks = tp.size();
    const double flops_per_task = loop(iters);
    if (flops_per_task == 0) return 0.0;
    // Median of many short bursts, timed like the GEMM rows of the benchmarks.
    std::vector<double> times;
    const double t_end = now_s(false) + o.peak_seconds;
    while (times.size() < 5 || now_s(false) < t_end) {
        double t0 = now_s(o.cpu_clock);
        tp.parallel_for(tasks, 1, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; i++) loop(iters);
        });
        times.push_back(now_s(o.cpu_clock) - t0);
        if (times.size() > 100000) break;
    }
    std::sort(times.begin(), times.end());
    return flops_per_task * double(tasks) / times[times.size() / 2] / 1e9;
}

Roofline measure_roofline(const RooflineOptions& o) {
    Roofline r = measure_read_bandwidth(o);
    r.fma_gflops = measure_peak_gflops(false, o);
    r.bf16_gflops = measure_peak_gflops(true, o);
    return r;
}

}  // namespace janus::bench
