// `janus info -m MODEL` — describe a checkpoint (format, architecture, sub-models, dtypes, params and
// bytes per part, missing/unexpected tensors, memory needed) without loading its weights.
#include <cstdio>
#include <memory>

#include "janus/bench.h"
#include "command.h"
#include "janus/checkpoint.h"

namespace {

struct Options {
    std::string model;
    janus::InfoOptions info;
    bool all = false;
    bool bench_load = false;
};

int run(const Options& o) {
    janus::InfoOptions opt = o.info;
    if (o.all) opt.max_list = 0;
    std::string out = o.bench_load ? janus::benchmark_checkpoint_load(o.model, opt.json)
                                   : janus::describe_checkpoint(o.model, opt);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

const bool registered = janus_cli::register_command(
    "info", "Describe a checkpoint: architecture, parts, dtypes, missing tensors, memory needed",
    [](CLI::App& app) {
        auto o = std::make_shared<Options>();
        app.add_option("-m,--model", o->model,
                       "Model directory (config.json + weights), weights file or *.index.json")
            ->required();
        app.add_flag("--json", o->info.json, "Print JSON instead of text");
        app.add_option("--ctx", o->info.context, "Chat context for the KV-cache estimate (default: min(max positions, 4096))")
            ->check(CLI::NonNegativeNumber);
        app.add_option("--parallel", o->info.parallel, "Janus: images per prompt for the generation estimate")
            ->check(CLI::PositiveNumber);
        app.add_flag("--all", o->all, "List every missing/unexpected tensor");
        app.add_flag("--bench-load", o->bench_load,
                     "Time loading in both modes (mmap, read): open, cold/warm sequential pass, random reads");
        return [o] { return run(*o); };
    });

}  // namespace
