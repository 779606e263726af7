// `janus bench ops`: op micro-benchmarks against the machine's roofline, measured in the same run —
// GEMV with the Janus-Pro-1B LM shapes (bf16/f32 weights) in GB/s next to a streaming read of the
// same buffers timed the same way (median per call, so CPU oversubscription hits both alike),
// small-batch (M = 32) and prefill (M = 512) GEMM in GFLOP/s next to measured f32-FMA and
// bf16-dot peaks, plus attention and the VQ decoder's conv2d. Used by the CLI and BENCHMARKS.md.
#pragma once
#include <string>
#include <vector>

namespace janus {

struct BenchOpsOptions {
    int threads = 0;            // CPU threads (0 = physical cores)
    double min_seconds = 0.4;   // per measurement, after warm-up
    bool quick = false;         // fewer/smaller cases (for CI smoke runs)
    bool progress = true;       // one line per case on stderr
    bool cpu_time = false;      // time with the thread's CPU clock (needs threads = 1): immune to
                                // other processes taking the CPU, for kernel efficiency on busy hosts
};

struct BenchOpsRow {
    std::string group;   // "gemv", "gemm_m32", "gemm_m512", "attention", "conv2d"
    std::string name;    // e.g. "5632x2048 bf16 w, x bf16"
    double ms = 0;       // median time per call
    double gbs = 0;      // weight bytes read per second (GEMV), 0 if not meaningful
    double gflops = 0;   // useful FLOP/s / 1e9
    double read_gbs = 0; // GEMV only: streaming read of the very same weight buffers, same timing
    double fraction = 0; // of the matching roofline (read_gbs for GEMV, peak for GEMM), 0 if none
    double vs_m1 = 0;    // GEMM only: time / time of the same weight's M = 1 GEMV
};

struct BenchOpsReport {
    std::string backend;          // cpu_backend_description()
    int threads = 0;
    double read_gbs = 0;          // streaming read bandwidth over a 1 GiB buffer, all threads
    double peak_fma_gflops = 0;   // f32 FMA peak, all threads (best SIMD path)
    double peak_bf16_gflops = 0;  // bf16 dot-product peak (0 when the CPU has none)
    double load_average = -1;     // 1-minute load average at the start (other jobs skew results)
    int cpus = 0;                 // online CPUs
    bool cpu_time = false;        // timings are thread CPU time (see BenchOpsOptions)
    std::vector<BenchOpsRow> rows;
};

BenchOpsReport bench_ops(const BenchOpsOptions& options);
std::string bench_ops_table(const BenchOpsReport& report);  // Markdown table + roofline lines
std::string bench_ops_json(const BenchOpsReport& report);

}  // namespace janus
