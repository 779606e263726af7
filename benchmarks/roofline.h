// The one roofline probe of every benchmark (janus bench ops / decode / generate, benchmarks/):
// the machine's read bandwidth and compute peaks, measured on the CPU backend's own thread pool in the
// same run as the work they bound. A ceiling must be a true ceiling — nothing measured may beat it —
// so the bandwidth is the best of several streaming patterns, among them the GEMV's own access
// pattern (the backend's bf16 matmul at M = 1 over weights cycled past the caches):
//   chunks   4 MiB chunks handed out by the pool (how our kernels split work),
//   slices   one contiguous slice per thread, single pass,
//   streams  each thread reads its slice as 8 interleaved page streams (many rows at once),
//   gemv     bf16 GEMV [N = 5632, K = 2048] · x, weight bytes / time (the op decode is bound by).
// Peaks: 24 independent f32 FMAs / bf16 dot products per iteration on every pool thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace janus::bench {

// Per-thread loops. stream_read sums `bytes` (multiple of 32 KiB, 64-byte aligned) as eight
// interleaved 4 KiB page streams; the result only defeats dead-code removal.
float stream_read(const void* data, size_t bytes);
double fma_peak_loop(int64_t iters);   // FLOPs done
double bf16_peak_loop(int64_t iters);  // FLOPs done; 0 when the CPU has no AVX-512-BF16

struct RooflineOptions {
    int64_t read_bytes = int64_t(1) << 30;  // buffer streamed by the patterns (GEMV: weight copies of ~this size)
    int repeats = 6;                        // best of, per pattern (the first pass warms up and is not counted)
    double peak_seconds = 0.3;              // per peak measurement
    bool cpu_clock = false;                 // time with the calling thread's CPU clock (1 thread only)
    bool gemv = true;                       // include the GEMV pattern
    bool progress = false;                  // one line per pattern on stderr
};

struct Roofline {
    int threads = 0;
    double read_gbps = 0;                   // best pattern
    std::string read_pattern;               // which one
    std::vector<std::pair<std::string, double>> patterns;  // every pattern's GB/s
    double fma_gflops = 0, bf16_gflops = 0;
};

Roofline measure_read_bandwidth(const RooflineOptions& options = {});
double measure_peak_gflops(bool bf16, const RooflineOptions& options = {});
Roofline measure_roofline(const RooflineOptions& options = {});  // bandwidth and both peaks

}  // namespace janus::bench
