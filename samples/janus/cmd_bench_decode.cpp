// `janus bench decode [--synthetic janus-pro-1b | -m MODEL] [--dtype bf16] [--tokens 64] [--json]`:
// prefill and decode speed of the text core next to the memory bandwidth measured in the same run
// (library: run_decode_benchmark in include/janus/bench.h). Global --threads / --device apply.
#include <cstdio>
#include <memory>

#include "janus/bench.h"
#include "command.h"
#include "janus/text.h"

namespace {
struct Options {
    janus::DecodeBenchOptions bench;
    bool json = false;
    std::string write_dir;
};
}  // namespace

static const bool registered = janus_cli::register_command(
    "bench decode", "Text decode/prefill speed vs measured memory bandwidth (synthetic Janus-Pro LM or a model dir)",
    [](CLI::App& app) {
        auto opt = std::make_shared<Options>();
        auto& b = opt->bench;
        app.add_option("--synthetic", b.synthetic, "Random weights with these LM shapes: janus-pro-1b, janus-pro-7b, tiny");
        app.add_option("-m,--model", b.model, "Benchmark a model directory instead of synthetic weights");
        app.add_option("--dtype", b.dtype, "Synthetic: weight+compute dtype bf16|f16|f32; model: auto|f32|bf16");
        app.add_option("--tokens", b.tokens, "Decode steps timed per batch size")->check(CLI::PositiveNumber);
        app.add_option("--prefill", b.prefill_tokens, "Prompt tokens of the prefill measurement")->check(CLI::PositiveNumber);
        app.add_option("--batch", b.batch, "Rows of the batched decode measurement (32 = CFG batch of 16 images)")
            ->check(CLI::PositiveNumber);
        app.add_option("--seed", b.seed, "Seed of the random weights");
        app.add_flag("--json", opt->json, "Print one JSON object");
        app.add_option("--write", opt->write_dir,
                       "Write the synthetic weights as a checkpoint directory (config.json + model.safetensors) and exit");
        return [opt] {
            if (!opt->write_dir.empty()) {
                janus::write_synthetic_model(opt->bench.synthetic, opt->bench.dtype, opt->write_dir, opt->bench.seed);
                std::fprintf(stderr, "wrote %s\n", opt->write_dir.c_str());
                return 0;
            }
            opt->bench.threads = janus_cli::global_options().threads;
            opt->bench.device = janus_cli::global_options().device;
            if (!opt->bench.model.empty() && opt->bench.dtype == "bf16") opt->bench.dtype = "auto";
            janus::DecodeBenchResult r = janus::run_decode_benchmark(opt->bench);
            std::string out = opt->json ? r.to_json() : r.to_text();
            std::fwrite(out.data(), 1, out.size(), stdout);
            return 0;
        };
    });
