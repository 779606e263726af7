// `janus bench ops` (include/janus/bench.h): times backend ops on the CPU backend next to rooflines
// measured in the same run — a streaming read of the very same weight buffers, timed the same way
// (median per call), for the memory-bound GEMV (plus a 1 GiB read for reference), and
// f32-FMA / bf16-dot peaks for the GEMMs. Weight matrices smaller than 512 MiB are replicated and
// cycled so every GEMV reads from DRAM (as in decode, where a step streams the whole model), not from
// the 32 MiB L3. Everything is touched and warmed up before timing (VMs here reclaim idle pages);
// times are medians over at least 5 calls and `min_seconds`.
#include <cmath>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>

#include "janus/bench.h"
#include "janus/error.h"
#include "kernels/backend.h"
#include "benchmarks/roofline.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/cpu_backend_impl.h"

namespace janus {

namespace {

// Wall clock, or the calling thread's CPU clock with --cpu-time (single-threaded runs only).
bool g_cpu_clock = false;
double now_s() {
    timespec t;
    clock_gettime(g_cpu_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}
struct clock_type {
    using time_point = double;
    static double now() { return now_s(); }
};
double seconds_since(double t0) { return now_s() - t0; }

// Median seconds per call of fn(i) (i counts calls, for rotating buffers).
double time_median(const std::function<void(int)>& fn, double min_seconds, int warmup = 2) {
    int calls = 0;
    auto t_warm = clock_type::now();
    for (int i = 0; i < warmup || seconds_since(t_warm) < 0.05; i++) fn(calls++);
    std::vector<double> times;
    auto t0 = clock_type::now();
    while (times.size() < 5 || seconds_since(t0) < min_seconds) {
        auto t = clock_type::now();
        fn(calls++);
        times.push_back(seconds_since(t));
        if (times.size() > 100000) break;
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

// Deterministic non-zero fill (zero pages could be shared by the kernel and skew bandwidth).
void fill_pattern(const Tensor& t, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1;
    if (t.dtype() == DType::f32) {
        float* p = t.ptr<float>();
        for (int64_t i = 0; i < t.numel(); i++) {
            s = s * 1664525u + 1013904223u;
            p[i] = float(int32_t(s >> 8) - (1 << 23)) * (1.0f / float(1 << 26));
        }
    } else {
        uint16_t* p = t.ptr<uint16_t>();
        for (int64_t i = 0; i < t.numel(); i++) {
            s = s * 1664525u + 1013904223u;
            float v = float(int32_t(s >> 8) - (1 << 23)) * (1.0f / float(1 << 26));
            p[i] = t.dtype() == DType::bf16 ? f32_to_bf16(v) : f32_to_f16(v);
        }
    }
}

struct Bench {
    Backend& be;
    cpu::ThreadPool& pool;
    const BenchOpsOptions& opt;
    BenchOpsReport& rep;

    void log(const BenchOpsRow& r) {
        if (!opt.progress) return;
        std::fprintf(stderr, "  %-10s %-36s %9.3f ms", r.group.c_str(), r.name.c_str(), r.ms);
        if (r.gbs > 0) std::fprintf(stderr, " %7.1f GB/s", r.gbs);
        if (r.read_gbs > 0) std::fprintf(stderr, " (read %5.1f)", r.read_gbs);
        if (r.gflops > 0) std::fprintf(stderr, " %8.1f GFLOP/s", r.gflops);
        if (r.fraction > 0) std::fprintf(stderr, " (%4.0f%%)", 100 * r.fraction);
        if (r.vs_m1 > 0) std::fprintf(stderr, " %5.2fx M=1", r.vs_m1);
        std::fprintf(stderr, "\n");
    }

    void measure_roofline() {
        bench::RooflineOptions ro;
        ro.read_bytes = int64_t(opt.quick ? 512 : 1024) << 20;
        ro.repeats = opt.quick ? 4 : 8;
        ro.peak_seconds = opt.quick ? 0.1 : 0.3;
        ro.cpu_clock = opt.cpu_time;
        ro.progress = opt.progress;
        bench::Roofline r = bench::measure_roofline(ro);
        rep.read_gbs = r.read_gbps;
        rep.peak_fma_gflops = r.fma_gflops;
        rep.peak_bf16_gflops = r.bf16_gflops;
        if (opt.progress)
            std::fprintf(stderr, "  roofline: read %.1f GB/s (%s), f32 FMA %.0f GFLOP/s, bf16 dot %.0f GFLOP/s\n",
                         rep.read_gbs, r.read_pattern.c_str(), rep.peak_fma_gflops, rep.peak_bf16_gflops);
    }

    // Weight copies to cycle through so that the working set exceeds the caches.
    std::vector<Tensor> weights(DType dt, int64_t N, int64_t K) {
        size_t bytes = size_t(N * K) * dtype_size(dt);
        size_t target = size_t(opt.quick ? 256 : 512) << 20;
        int copies = int(std::max<size_t>(1, (target + bytes - 1) / bytes));
        std::vector<Tensor> w;
        for (int i = 0; i < copies; i++) {
            w.push_back(be.alloc(dt, {N, K}));
            fill_pattern(w.back(), uint32_t(i + 1));
        }
        return w;
    }

    // Streaming read of the same weight copies, cycled and timed like the GEMV (median per call).
    double read_same(const std::vector<Tensor>& w) {
        const size_t bytes = w[0].nbytes() / 32768 * 32768;
        const size_t chunk = size_t(1) << 20;
        const int64_t chunks = int64_t((bytes + chunk - 1) / chunk);
        double t = time_median(
            [&](int i) {
                const char* base = static_cast<const char*>(w[size_t(i) % w.size()].data());
                pool.parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
                    for (int64_t c = b; c < e; c++) {
                        size_t off = size_t(c) * chunk, len = std::min(chunk, bytes - off);
                        bench::stream_read(base + off, len);
                    }
                });
            },
            opt.min_seconds);
        return double(bytes) / t / 1e9;
    }

    double run_matmul(const std::vector<Tensor>& w, int64_t M, MatmulPrecision prec) {
        int64_t N = w[0].dim(0), K = w[0].dim(1);
        Tensor x = be.alloc(DType::f32, {M, K}), y = be.alloc(DType::f32, {M, N});
        fill_pattern(x, 7);
        return time_median([&](int i) { be.matmul(y, x, w[size_t(i) % w.size()], Tensor(), prec, false); },
                           opt.min_seconds);
    }

    static std::string shape_name(int64_t N, int64_t K) { return std::to_string(N) + "x" + std::to_string(K); }

    void matmuls() {
        std::vector<std::pair<int64_t, int64_t>> shapes = {{2048, 2048}, {5632, 2048}, {2048, 5632}, {102400, 2048}};
        if (opt.quick) shapes = {{2048, 2048}, {5632, 2048}};
        struct Variant { DType wt; MatmulPrecision prec; const char* label; };
        const Variant variants[] = {{DType::bf16, MatmulPrecision::bf16, "bf16 w, x bf16"},
                                    {DType::bf16, MatmulPrecision::f32, "bf16 w, x f32"},
                                    {DType::f32, MatmulPrecision::f32, "f32 w"}};
        for (auto [N, K] : shapes)
            for (const Variant& v : variants) {
                std::vector<Tensor> w = weights(v.wt, N, K);
                double bytes = double(N * K) * double(dtype_size(v.wt));
                double read = read_same(w);
                double t1 = run_matmul(w, 1, v.prec);
                BenchOpsRow r1{"gemv", shape_name(N, K) + " " + v.label, t1 * 1e3, bytes / t1 / 1e9,
                               2.0 * double(N * K) / t1 / 1e9, read, 0, 0};
                r1.fraction = read > 0 ? r1.gbs / read : 0;
                // The same-buffers read is one more streaming pattern: the ceiling is the best of all.
                rep.read_gbs = std::max(rep.read_gbs, read);
                rep.rows.push_back(r1);
                log(r1);
                for (int64_t M : {int64_t(32), int64_t(512)}) {
                    if (M == 512 && (opt.quick || N > 5632)) continue;
                    double tm = run_matmul(w, M, v.prec);
                    double flops = 2.0 * double(M) * double(N) * double(K);
                    bool dot = v.wt == DType::bf16 && v.prec == MatmulPrecision::bf16 && rep.peak_bf16_gflops > 0;
                    double peak = dot ? rep.peak_bf16_gflops : rep.peak_fma_gflops;
                    BenchOpsRow r{M == 32 ? "gemm_m32" : "gemm_m512", shape_name(N, K) + " " + v.label, tm * 1e3,
                                  bytes / tm / 1e9, flops / tm / 1e9, 0, 0, M == 32 ? tm / t1 : 0};
                    r.fraction = peak > 0 ? r.gflops / peak : 0;
                    rep.rows.push_back(r);
                    log(r);
                }
            }
    }

    void attention() {
        struct A { int64_t Tq, Tk, causal, H, Dh; DType kv; const char* label; };
        std::vector<A> cases = {{1, 1024, 1023, 16, 128, DType::bf16, "decode Tk=1024, H=16 Dh=128 bf16 kv"},
                                {1, 4096, 4095, 16, 128, DType::bf16, "decode Tk=4096, H=16 Dh=128 bf16 kv"},
                                {576, 576, 0, 16, 128, DType::bf16, "prefill T=576 causal, H=16 Dh=128 bf16 kv"},
                                {576, 576, -1, 16, 64, DType::f32, "SigLIP T=576 non-causal, H=16 Dh=64 f32"},
                                {576, 576, -1, 1, 512, DType::f32, "VQ T=576 non-causal, H=1 Dh=512 f32"}};
        if (opt.quick) cases.resize(1);
        for (const A& a : cases) {
            Tensor q = be.alloc(DType::f32, {a.Tq, a.H, a.Dh}), o = be.alloc(DType::f32, {a.Tq, a.H, a.Dh});
            Tensor k = be.alloc(a.kv, {a.Tk, a.H, a.Dh}), v = be.alloc(a.kv, {a.Tk, a.H, a.Dh});
            fill_pattern(q, 1);
            fill_pattern(k, 2);
            fill_pattern(v, 3);
            const float sc = float(1.0 / std::sqrt(double(a.Dh)));
            double t = time_median([&](int) { be.attention(o, q, k, v, sc, a.causal); }, opt.min_seconds);
            double pairs = a.causal == 0 ? double(a.Tq) * double(a.Tq + 1) / 2 : double(a.Tq) * double(a.Tk);
            double flops = 4.0 * pairs * double(a.H * a.Dh);
            BenchOpsRow r{"attention", a.label, t * 1e3,
                          a.Tq == 1 ? double(k.nbytes() + v.nbytes()) / t / 1e9 : 0, flops / t / 1e9, 0, 0, 0};
            rep.rows.push_back(r);
            log(r);
        }
    }

    void conv() {
        int64_t S = opt.quick ? 96 : 384, C = 128;
        Tensor x = be.alloc(DType::f32, {1, C, S, S}), y = be.alloc(DType::f32, {1, C, S, S});
        Tensor w = be.alloc(DType::bf16, {C, C, 3, 3}), b = be.alloc(DType::f32, {C});
        fill_pattern(x, 4);
        fill_pattern(w, 5);
        fill_pattern(b, 6);
        double t = time_median([&](int) { be.conv2d(y, x, w, b, Conv2dParams::same(1)); }, opt.min_seconds, 1);
        double flops = 2.0 * double(C * C * 9) * double(S * S);
        BenchOpsRow r{"conv2d", std::to_string(C) + "->" + std::to_string(C) + " 3x3 at " + std::to_string(S) + "x" +
                                    std::to_string(S),
                      t * 1e3, 0, flops / t / 1e9, 0, rep.peak_fma_gflops > 0 ? flops / t / 1e9 / rep.peak_fma_gflops : 0, 0};
        rep.rows.push_back(r);
        log(r);
    }
};

}  // namespace

BenchOpsReport bench_ops(const BenchOpsOptions& opt) {
    if (opt.threads < 0) throw Error("bench ops: --threads must be >= 0");
    if (opt.cpu_time && opt.threads != 1)
        throw Error("bench ops: --cpu-time times the calling thread only; run it with -t 1");
    g_cpu_clock = opt.cpu_time;
    set_cpu_threads(opt.threads);
    Backend& be = cpu_backend();
    auto* cpu = dynamic_cast<cpu::CpuBackend*>(&be);
    if (!cpu) throw Error("bench ops: the CPU backend is not the built-in one");
    BenchOpsReport rep;
    rep.backend = cpu_backend_description();
    rep.threads = be.threads();
    rep.cpu_time = opt.cpu_time;
    rep.cpus = int(sysconf(_SC_NPROCESSORS_ONLN));
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &rep.load_average) != 1) rep.load_average = -1;
        std::fclose(f);
    }
    Bench b{be, cpu->pool(), opt, rep};
    if (opt.progress) std::fprintf(stderr, "bench ops on %s\n", rep.backend.c_str());
    b.measure_roofline();
    b.matmuls();
    b.attention();
    b.conv();
    return rep;
}

std::string bench_ops_table(const BenchOpsReport& r) {
    char line[512];
    std::string s;
    std::snprintf(line, sizeof line,
                  "Backend: %s (%d CPUs online, 1-min load average %.2f at start)%s\n"
                  "Roofline (measured in this run, %d threads): streaming read %.1f GB/s, "
                  "f32 FMA peak %.0f GFLOP/s, bf16 dot peak %.0f GFLOP/s\n\n",
                  r.backend.c_str(), r.cpus, r.load_average, r.cpu_time ? ", timed in thread CPU time" : "",
                  r.threads, r.read_gbs, r.peak_fma_gflops, r.peak_bf16_gflops);
    s += line;
    s += "| group | case | ms | GB/s | read GB/s, same buffers | GFLOP/s | of roofline | time vs M=1 |\n";
    s += "|---|---|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& x : r.rows) {
        auto num = [](double v, const char* fmt) {
            char b[32];
            if (v <= 0) return std::string("");
            std::snprintf(b, sizeof b, fmt, v);
            return std::string(b);
        };
        std::snprintf(line, sizeof line, "| %s | %s | %.3f | %s | %s | %s | %s | %s |\n", x.group.c_str(),
                      x.name.c_str(), x.ms, num(x.gbs, "%.1f").c_str(), num(x.read_gbs, "%.1f").c_str(),
                      num(x.gflops, "%.1f").c_str(),
                      num(100 * x.fraction, "%.0f%%").c_str(), num(x.vs_m1, "%.2fx").c_str());
        s += line;
    }
    // A roofline must be a true ceiling: say so when a measured rate beats it (the probe is then wrong
    // or the run was disturbed; rerun on a quiet machine).
    std::string beaten;
    for (const auto& x : r.rows) {
        if (x.group == "gemv" && x.gbs > r.read_gbs)
            beaten += "\n  " + x.name + ": " + std::to_string(x.gbs).substr(0, 5) + " GB/s";
        if (x.group.rfind("gemm", 0) == 0 && x.gflops > std::max(r.peak_fma_gflops, r.peak_bf16_gflops))
            beaten += "\n  " + x.name + ": " + std::to_string(x.gflops).substr(0, 6) + " GFLOP/s";
    }
    s += beaten.empty() ? "\nCeiling check: no GEMV or GEMM row beats the measured read bandwidth or peak "
                          "(the conv2d row counts direct-convolution FLOPs: the Winograd kernel does fewer).\n"
                        : "\nCeiling check FAILED — these rows beat the measured roofline (rerun on a quiet machine):" +
                              beaten + "\n";
    return s;
}

std::string bench_ops_json(const BenchOpsReport& r) {
    char line[512];
    std::string s = "{\n";
    std::string backend = r.backend;
    std::snprintf(line, sizeof line,
                  "  \"backend\": \"%s\",\n  \"threads\": %d,\n  \"cpus\": %d,\n  \"load_average\": %.2f,\n"
                  "  \"cpu_time\": %s,\n"
                  "  \"read_gbs\": %.3f,\n  \"peak_fma_gflops\": %.3f,\n"
                  "  \"peak_bf16_gflops\": %.3f,\n  \"rows\": [\n",
                  backend.c_str(), r.threads, r.cpus, r.load_average, r.cpu_time ? "true" : "false", r.read_gbs,
                  r.peak_fma_gflops,
                  r.peak_bf16_gflops);
    s += line;
    for (size_t i = 0; i < r.rows.size(); i++) {
        const auto& x = r.rows[i];
        std::snprintf(line, sizeof line,
                      "    {\"group\": \"%s\", \"name\": \"%s\", \"ms\": %.6f, \"gbs\": %.3f, \"read_gbs\": %.3f, "
                      "\"gflops\": %.3f, \"fraction\": %.4f, \"vs_m1\": %.3f}%s\n",
                      x.group.c_str(), x.name.c_str(), x.ms, x.gbs, x.read_gbs, x.gflops, x.fraction, x.vs_m1,
                      i + 1 < r.rows.size() ? "," : "");
        s += line;
    }
    s += "  ]\n}\n";
    return s;
}

}  // namespace janus
