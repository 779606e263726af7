// `janus bench vision --synthetic janus-pro-1b`: SigLIP encode + VQ decode at real dimensions with
// random weights vs the machine's measured GEMM/conv rate and vs PyTorch in the same run
// (include/janus/bench.h, benchmarks/vision_bench.cpp). Markdown table (or --json) on stdout.
#include <cstdio>

#include "janus/bench.h"
#include "command.h"
#include "janus/vision.h"

namespace {

struct Options {
    janus::VisionBenchOptions b;
    bool json = false, no_torch = false;
};

const bool registered = janus_cli::register_command(
    "bench vision", "SigLIP encode and VQ-16 decode speed (real dimensions, random weights) vs GEMM/conv peak and PyTorch",
    [](CLI::App& app) {
        auto opt = std::make_shared<Options>();
        app.add_option("--synthetic", opt->b.synthetic, "Model dimensions: janus-pro-1b or janus-pro-7b");
        app.add_option("--weights", opt->b.weights, "Weight dtype on the janus side: f32 or bf16 (compute is f32)");
        app.add_option("--repeats", opt->b.repeats, "Timed runs per module (median), after one warm-up")
            ->check(CLI::PositiveNumber);
        app.add_option("--torch-repeats", opt->b.torch_repeats, "Timed PyTorch runs per module (no warm-up)")
            ->check(CLI::PositiveNumber);
        app.add_flag("--no-torch", opt->no_torch, "Do not run the PyTorch comparison");
        app.add_option("--python", opt->b.python, "Python with torch for the comparison");
        app.add_option("--torch-blas", opt->b.torch_blas, "BLAS for PyTorch: openblas (preload when installed) or system");
        app.add_flag("--json", opt->json, "Print one JSON object instead of the table");
        return [opt] {
            janus::VisionBenchOptions b = opt->b;
            const auto& g = janus_cli::global_options();
            b.threads = g.threads;
            b.device = g.device == "auto" ? "cpu" : g.device;
            b.torch = !opt->no_torch;
            b.progress = !g.quiet;
            janus::VisionBenchReport r = janus::run_vision_benchmark(b);
            std::fputs((opt->json ? r.to_json() + "\n" : r.to_text()).c_str(), stdout);
            return 0;
        };
    });

}  // namespace
