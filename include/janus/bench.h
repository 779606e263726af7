// janus.cpp public API — every benchmark behind `janus bench` (implemented in benchmarks/, the one
// benchmark layer: one roofline probe, benchmarks/roofline.h, and one PyTorch runner,
// benchmarks/torch_runner.h, shared by all of them). Each reports against ceilings measured in the
// same run and, where one exists, the peer (PyTorch) run in the same process tree.
//
// `janus bench ops`: op micro-benchmarks against the machine's roofline, measured in the same run —
// GEMV with the Janus-Pro-1B LM shapes (bf16/f32 weights) in GB/s next to a streaming read of the
// same buffers timed the same way (median per call, so CPU oversubscription hits both alike),
// small-batch (M = 32) and prefill (M = 512) GEMM in GFLOP/s next to measured f32-FMA and
// bf16-dot peaks, plus attention and the VQ decoder's conv2d. Used by the CLI and BENCHMARKS.md.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
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

// ---- `janus bench decode` ------------------------------------------------------------------------
struct DecodeBenchOptions {
    std::string synthetic = "janus-pro-1b";  // model shapes: janus-pro-1b | janus-pro-7b | tiny
    std::string model;                       // a model directory instead of synthetic weights
    std::string dtype = "bf16";              // weight + compute dtype: bf16 | f32
    std::string device = "cpu";
    int threads = 0;                         // 0 = physical cores
    int tokens = 64;                         // decode steps measured per batch size
    int prefill_tokens = 512;
    int batch = 32;                          // the batched decode measurement (CFG batch of 16 images)
    uint64_t seed = 1;
};
struct DecodeBenchResult {
    std::string model, dtype, device;               // model: synthetic name or directory
    int threads = 0;
    double weight_bytes = 0, kv_bytes = 0;          // resident bytes of weights and of the KV cache
    double prefill_tok_s = 0;                       // prompt of prefill_tokens, batch 1
    double decode_tok_s_b1 = 0, decode_step_ms_b1 = 0;
    double decode_step_ms_bn = 0, decode_tok_s_bn = 0;  // batch `batch`
    int batch = 0;
    double bytes_per_step = 0;                      // weights read by one decode step (+ mean KV read)
    double achieved_gbps = 0;                       // bytes_per_step / decode_step_s (batch 1)
    double measured_bandwidth_gbps = 0;             // streaming read measured in the same run
    double bandwidth_fraction = 0;
    double peak_rss_bytes = 0;                      // VmHWM after the run
    double build_s = 0;                             // time to build the random weights / open the checkpoint
    double first_touch_s = 0;                       // real checkpoint: first pass over the weights (page faults)
    std::vector<std::pair<std::string, double>> breakdown_ms;  // per-op time of one b1 step (where known)
    std::string to_json() const;                    // one JSON object (keys as in the struct)
    std::string to_text() const;
};
DecodeBenchResult run_decode_benchmark(const DecodeBenchOptions& options);

// ---- `janus bench vision` --------------------------------------------------------------------------
// SigLIP encode of one image and VQ-16 decode of one code grid with random weights at the real
// dimensions of a released model, timed on this machine, with FLOP counts, the machine's measured
// GEMM / conv GFLOP/s (same backend, same run), and the same PyTorch modules timed in the same run
// (scripts/reference/bench_vision_torch.py with Debian's torch, same thread count).
struct VisionBenchOptions {
    std::string synthetic = "janus-pro-1b";  // janus-pro-1b | janus-pro-7b
    std::string device = "cpu";
    std::string weights = "f32";             // weight dtype on our side: f32 | bf16 (compute is f32)
    int threads = 0;                         // 0 = physical cores
    int repeats = 3;                         // timed runs (median), after one warm-up
    bool torch = true;                       // also time PyTorch
    int torch_repeats = 1;                   // PyTorch CPU is slow: one timed run, no warm-up
    std::string python = "/usr/bin/python3";
    // BLAS for PyTorch's Linear layers: "openblas" preloads Debian's OpenBLAS when it is installed
    // (Debian torch is built against the generic libblas alternative, which may be the unoptimised
    // reference BLAS); "system" uses whatever the alternative points to.
    std::string torch_blas = "openblas";
    bool progress = true;
};
struct VisionBenchRow {
    std::string name;        // "siglip_encode", "vq_decode"
    double ms = 0;           // median
    double gflop = 0;        // useful FLOPs / 1e9 (GEMM/conv/attention multiply-adds × 2)
    double gflops = 0;       // gflop / s
    double fraction = 0;     // of the measured reference rate (GEMM for SigLIP, conv for VQ)
    double torch_ms = 0;     // 0 when not measured
    double speedup = 0;      // torch_ms / ms
};
struct VisionBenchReport {
    std::string model, device, weights, backend, torch_version, torch_blas, torch_note;
    int threads = 0;
    double gemm_gflops = 0;  // matmul [576, 1024] · [4096, 1024]ᵀ f32, this backend
    double conv_gflops = 0;  // conv2d 3×3 512 → 512 at 24×24 (+ 128 → 128 at 96×96), this backend
    std::string load_before, load_after;  // /proc/loadavg at start and end (other work on the machine)
    std::vector<VisionBenchRow> rows;
    std::string to_text() const;  // Markdown table
    std::string to_json() const;
};
VisionBenchReport run_vision_benchmark(const VisionBenchOptions& options);

// ---- `janus bench generate` ----------------------------------------------------------------------
struct GenerateBenchOptions {
    std::string synthetic = "janus-pro-1b";  // janus-pro-1b | janus-pro-7b | tiny
    std::string dtype = "bf16";              // weight + compute dtype
    std::vector<int> parallel{1, 16};        // images per step (P); 2P rows each
    int steps = 16;                          // decode steps measured per P (after the prefill)
    int prompt_tokens = 24;                  // L
    int threads = 0;
    bool torch = true;                       // also run scripts/reference/bench_generate_torch.py
    std::string python = "/usr/bin/python3";
    uint64_t seed = 1;
};
struct GenerateBenchRow {
    int parallel = 0;
    double prefill_ms = 0;
    double step_ms = 0;                      // median decode step (2P rows + gen_head + CFG + sample + feed)
    double images_per_minute = 0;            // P / (prefill + 576 steps), extrapolated
    double bytes_per_step = 0;               // weights + KV read by one step
    double flops_per_step = 0;
    double achieved_gbps = 0, achieved_gflops = 0;
    double roofline_fraction = 0;            // time the roofline allows / measured
    double torch_step_ms = 0, torch_prefill_ms = 0;  // eager PyTorch, same shapes and threads (0 = not run)
    double speedup = 0;                      // torch_step_ms / step_ms
};
struct GenerateBenchResult {
    std::string model, dtype, backend, torch_version, torch_note;
    int threads = 0, steps = 0, prompt_tokens = 0;
    double weight_bytes = 0, read_gbps = 0, peak_gflops = 0;
    std::vector<GenerateBenchRow> rows;
    std::string to_text() const;
    std::string to_json() const;
};
GenerateBenchResult run_generate_benchmark(const GenerateBenchOptions& options);

// ---- `janus info --bench-load` --------------------------------------------------------------------
// Times both load modes (mmap / read) on this checkpoint: open, a cold and a warm sequential pass
// over all tensor bytes, and random 64-byte reads. Drops the files' page cache first. Text or JSON.
std::string benchmark_checkpoint_load(const std::string& path, bool json);

}  // namespace janus
