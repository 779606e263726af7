// `janus bench vision`: SigLIP encode + VQ decode at real dimensions with random weights, FLOP counts,
// the backend's measured GEMM and conv GFLOP/s, and the PyTorch reference timed in the same run
// (see include/janus/vision.h). Median of `repeats` timed runs after one warm-up.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "janus/bench.h"
#include "benchmarks/torch_runner.h"
#include "janus/error.h"
#include "janus/vision.h"
#include "kernels/backend.h"
#include "vision/random_weights.h"
#include "vision/siglip.h"
#include "vision/vision_config.h"
#include "vision/vq_model.h"

namespace janus {

namespace {

double median_ms(Backend& be, const std::function<void()>& fn, int repeats, int warmup) {
    for (int i = 0; i < warmup; ++i) fn();
    be.synchronize();
    std::vector<double> t;
    for (int i = 0; i < std::max(1, repeats); ++i) {
        auto t0 = std::chrono::steady_clock::now();
        fn();
        be.synchronize();
        t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// Best of a few timed calls (the machine's achievable rate for this op).
double best_gflops(Backend& be, double flop, const std::function<void()>& fn, int calls) {
    fn();
    be.synchronize();
    double best = 0;
    for (int i = 0; i < calls; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        fn();
        be.synchronize();
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, flop / s / 1e9);
    }
    return best;
}

Tensor to_weights(Backend& be, const Tensor& t, const std::string& dtype) {
    if (dtype == "f32") return t;
    Tensor b = be.alloc(DType::bf16, t.shape());
    be.convert(b, t);
    return b;
}

std::string loadavg() {
    FILE* f = std::fopen("/proc/loadavg", "r");
    if (!f) return "";
    char buf[128] = {0};
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    std::string s(buf, n);
    size_t cut = 0;
    for (int i = 0; i < 3 && cut != std::string::npos; ++i) cut = s.find(' ', cut + 1);
    return s.substr(0, cut);
}

}  // namespace

VisionBenchReport run_vision_benchmark(const VisionBenchOptions& o) {
    vision::synthetic_lm_hidden(o.synthetic);  // validates the name
    if (o.weights != "f32" && o.weights != "bf16") throw Error("--weights must be f32 or bf16, got '" + o.weights + "'");
    if (o.repeats <= 0) throw Error("--repeats must be positive");
    set_cpu_threads(o.threads);
    Backend& be = get_backend(o.device);
    VisionBenchReport r;
    r.model = o.synthetic;
    r.device = be.name();
    r.weights = o.weights;
    r.threads = be.threads();
    r.backend = be.name() == "cpu" ? std::to_string(r.threads) + " CPU threads" : be.name();
    r.load_before = loadavg();
    auto say = [&](const std::string& s) {
        if (o.progress) std::fprintf(stderr, "bench vision: %s\n", s.c_str());
    };

    // ---- reference rates on this backend ----
    {
        Tensor x = vision::random_normal(be, {576, 1024}, 1.0f, 1);
        Tensor w = to_weights(be, vision::random_normal(be, {4096, 1024}, 0.02f, 2), o.weights);
        Tensor y = be.alloc(DType::f32, {576, 4096});
        r.gemm_gflops = best_gflops(be, 2.0 * 576 * 1024 * 4096, [&] { be.matmul(y, x, w, Tensor()); }, 5);
        Tensor cx = vision::random_normal(be, {1, 512, 24, 24}, 1.0f, 3);
        Tensor cw = to_weights(be, vision::random_normal(be, {512, 512, 3, 3}, 0.02f, 4), o.weights);
        Tensor cy = be.alloc(DType::f32, {1, 512, 24, 24});
        double c1 = best_gflops(be, 2.0 * 512 * 512 * 9 * 576, [&] { be.conv2d(cy, cx, cw, Tensor(), Conv2dParams::same(1)); }, 5);
        Tensor dx = vision::random_normal(be, {1, 128, 96, 96}, 1.0f, 5);
        Tensor dw = to_weights(be, vision::random_normal(be, {128, 128, 3, 3}, 0.02f, 6), o.weights);
        Tensor dy = be.alloc(DType::f32, {1, 128, 96, 96});
        double c2 = best_gflops(be, 2.0 * 128 * 128 * 9 * 96 * 96, [&] { be.conv2d(dy, dx, dw, Tensor(), Conv2dParams::same(1)); }, 5);
        r.conv_gflops = std::max(c1, c2);
        say("GEMM " + std::to_string(int(r.gemm_gflops)) + " GFLOP/s, conv " + std::to_string(int(r.conv_gflops)) + " GFLOP/s");
    }

    // ---- SigLIP encode of one image ----
    {
        vision::SiglipConfig cfg;  // official SigLIP-L/16 @384 (facts §1.3)
        const DType wdt = o.weights == "bf16" ? DType::bf16 : DType::f32;
        vision::SiglipEncoder enc = vision::SiglipEncoder::random(be, cfg, 11, wdt);
        std::vector<float> px(size_t(3) * cfg.image_size * cfg.image_size);
        for (size_t i = 0; i < px.size(); ++i) px[i] = float((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
        Tensor out = be.alloc(DType::f32, {1, cfg.num_patches(), cfg.width});
        say("SigLIP encode ...");
        VisionBenchRow row;
        row.name = "siglip_encode";
        row.ms = median_ms(be, [&] { enc.forward(out, px.data(), 1); }, o.repeats, 1);
        row.gflop = enc.flops(1) / 1e9;
        row.gflops = row.gflop / (row.ms / 1e3);
        row.fraction = row.gflops / r.gemm_gflops;
        r.rows.push_back(row);
    }
    // ---- VQ decode of one grid ----
    {
        vision::VqConfig cfg;  // official VQ-16 (facts §1.5)
        vision::VqModel vq = vision::VqModel::random(be, cfg, 21, false, o.weights == "bf16" ? DType::bf16 : DType::f32);
        std::vector<int32_t> codes(size_t(cfg.grid()) * cfg.grid());
        for (size_t i = 0; i < codes.size(); ++i) codes[i] = int32_t((i * 7919) % cfg.codebook_size);
        Tensor out = be.alloc(DType::f32, {1, 3, cfg.image_size, cfg.image_size});
        say("VQ decode ...");
        VisionBenchRow row;
        row.name = "vq_decode";
        row.ms = median_ms(be, [&] { vq.decode(out, codes.data()); }, o.repeats, 1);
        row.gflop = vq.decode_flops() / 1e9;
        row.gflops = row.gflop / (row.ms / 1e3);
        row.fraction = row.gflops / r.conv_gflops;
        r.rows.push_back(row);
    }

    // ---- PyTorch, same run, same threads ----
    if (o.torch) {
        if (o.torch_blas != "openblas" && o.torch_blas != "system")
            throw Error("--torch-blas must be openblas or system, got '" + o.torch_blas + "'");
        bench::TorchRunOptions to;
        to.python = o.python;
        to.script = "bench_vision_torch.py";
        to.args = {"--threads", std::to_string(r.threads), "--repeats", std::to_string(o.torch_repeats), "--warmup", "0"};
        to.threads = r.threads;
        to.preload_openblas = o.torch_blas == "openblas";
        say("PyTorch (" + o.python + ", " + std::to_string(r.threads) + " threads) ...");
        bench::TorchRun run = bench::run_torch_script(to);
        r.torch_blas = run.blas;
        if (run.ok) {
            r.torch_version = run.result.value("torch_version", "");
            r.rows[0].torch_ms = run.result.value("siglip_ms", 0.0);
            r.rows[1].torch_ms = run.result.value("vq_decode_ms", 0.0);
            for (auto& row : r.rows)
                if (row.torch_ms > 0) row.speedup = row.torch_ms / row.ms;
        } else {
            r.torch_note = run.note;
        }
    } else {
        r.torch_note = "PyTorch not run (--no-torch)";
    }
    r.load_after = loadavg();
    return r;
}

std::string VisionBenchReport::to_text() const {
    std::ostringstream s;
    char line[512];
    s << "janus bench vision --synthetic " << model << " (" << backend << ", weights " << weights << ", compute f32)\n";
    std::snprintf(line, sizeof line,
                  "measured: GEMM %.1f GFLOP/s ([576,1024]x[4096,1024]^T), conv %.1f GFLOP/s (3x3 as run, direct-conv FLOP "
                  "count; on AVX-512 the conv is Winograd F(4x4,3x3), 1/4 of the multiplies)\n\n",
                  gemm_gflops, conv_gflops);
    s << line;
    s << "| module | ms | GFLOP | GFLOP/s | of measured | PyTorch ms | speed-up |\n";
    s << "|---|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& r : rows) {
        std::snprintf(line, sizeof line, "| %s | %.1f | %.1f | %.1f | %.0f%% (%s) | %s | %s |\n", r.name.c_str(), r.ms,
                      r.gflop, r.gflops, 100 * r.fraction, r.name == "vq_decode" ? "conv" : "GEMM",
                      r.torch_ms > 0 ? std::to_string(int64_t(r.torch_ms + 0.5)).c_str() : "-",
                      r.speedup > 0 ? (std::to_string(r.speedup).substr(0, 5) + "x").c_str() : "-");
        s << line;
    }
    if (!torch_version.empty())
        s << "\nPyTorch " << torch_version << " (CPU, f32, " << threads << " threads, " << torch_blas << ", same run)\n";
    if (!torch_note.empty()) s << "\n" << torch_note << "\n";
    if (!load_before.empty()) s << "load average (1/5/15 min): " << load_before << " before, " << load_after << " after\n";
    return s.str();
}

std::string VisionBenchReport::to_json() const {
    nlohmann::json j;
    j["model"] = model, j["device"] = device, j["weights"] = weights, j["threads"] = threads;
    j["gemm_gflops"] = gemm_gflops, j["conv_gflops"] = conv_gflops, j["torch_version"] = torch_version, j["torch_blas"] = torch_blas;
    if (!torch_note.empty()) j["torch_note"] = torch_note;
    j["load_before"] = load_before, j["load_after"] = load_after;
    for (const auto& r : rows)
        j["rows"].push_back({{"name", r.name}, {"ms", r.ms}, {"gflop", r.gflop}, {"gflops", r.gflops},
                             {"fraction", r.fraction}, {"torch_ms", r.torch_ms}, {"speedup", r.speedup}});
    return j.dump();
}

}  // namespace janus
