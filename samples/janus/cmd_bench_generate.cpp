// `janus bench generate [--synthetic janus-pro-1b] [--parallel 1 16] [--steps K] [--json] [--no-torch]`:
// per-step time of the text-to-image decode loop (2P CFG rows) with random weights of a real model's
// shapes, images/minute extrapolated to 576 steps, bytes/FLOPs per step and the roofline fraction,
// next to eager PyTorch running the same loop in the same run. Logic: benchmarks/generate_bench.cpp.
#include <cstdio>
#include <memory>

#include "janus/bench.h"
#include "command.h"
#include "janus/generate.h"

namespace {
struct Options {
    janus::GenerateBenchOptions b;
    bool json = false, no_torch = false;
};
}  // namespace

static const bool registered = janus_cli::register_command(
    "bench generate", "Text-to-image decode step vs roofline and eager PyTorch (same loop, same threads)",
    [](CLI::App& app) {
        auto opt = std::make_shared<Options>();
        app.add_option("--synthetic", opt->b.synthetic, "Model shapes: janus-pro-1b, janus-pro-7b or tiny");
        app.add_option("--parallel,-n", opt->b.parallel, "Images per step (P; 2P rows), e.g. --parallel 1 16");
        app.add_option("--steps", opt->b.steps, "Decode steps timed per P (median reported)")->check(CLI::PositiveNumber);
        app.add_option("--prompt-tokens", opt->b.prompt_tokens, "Prompt length L")->check(CLI::Range(2, 4096));
        app.add_option("--dtype", opt->b.dtype, "Weight + compute dtype: bf16 or f32");
        app.add_option("--python", opt->b.python, "Python with torch for the comparison");
        app.add_flag("--no-torch", opt->no_torch, "Skip the PyTorch comparison");
        app.add_flag("--json", opt->json, "Print JSON");
        return [opt] {
            janus::GenerateBenchOptions o = opt->b;
            o.threads = janus_cli::global_options().threads;
            o.torch = !opt->no_torch;
            janus::GenerateBenchResult r = janus::run_generate_benchmark(o);
            std::string s = opt->json ? r.to_json() + "\n" : r.to_text();
            std::fwrite(s.data(), 1, s.size(), stdout);
            return 0;
        };
    });
