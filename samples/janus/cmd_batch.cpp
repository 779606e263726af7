// `janus batch -m MODEL JOBS.jsonl -o OUT [--shard I/N] [--shard-count N] [--max-batch R]`: render
// JSONL jobs to OUT/<id>/image-<k>.png + OUT/manifest.jsonl, resumable and shardable (Slurm arrays,
// Kubernetes Indexed Jobs). Logic: pipelines/batch*.cpp behind include/janus/batch.h; docs/batch.md.
#include <cstdio>

#include "command.h"
#include "janus/batch.h"

namespace {

struct Options {
    janus::BatchOptions b;
    std::string shard, memory_limit;
    int shard_count = 0;
};

int run(Options& opt) {
    const auto& g = janus_cli::global_options();
    janus::BatchOptions b = opt.b;
    b.gen.device = g.device;
    b.gen.threads = g.threads;
    if (!opt.memory_limit.empty()) b.gen.memory_limit = janus::parse_size(opt.memory_limit, "--memory-limit");
    b.shard = janus::detect_shard(opt.shard, opt.shard_count);
    if (!g.quiet) {
        b.log = [](const std::string& s) { std::fprintf(stderr, "janus batch: %s\n", s.c_str()); };
        if (b.shard.count > 1)
            std::fprintf(stderr, "janus batch: shard %d of %d (%s)\n", b.shard.index, b.shard.count, b.shard.source.c_str());
    }
    janus::BatchSummary s = janus::run_batch(b);
    std::printf("%d job(s) in the file, %d in this shard: %d already done, %d ok, %d failed; %d image(s) written "
                "(%d reused) in %.1f s; manifest: %s/manifest.jsonl\n",
                s.jobs, s.mine, s.skipped, s.ok, s.failed, s.images_written, s.images_reused, s.seconds, b.out.c_str());
    return s.failed > 0 ? 3 : 0;
}

const bool registered = janus_cli::register_command(
    "batch", "Render JSONL text-to-image jobs (resumable, shardable: Slurm arrays, Kubernetes Indexed Jobs)",
    [](CLI::App& app) {
        auto opt = std::make_shared<Options>();
        app.add_option("-m,--model", opt->b.gen.model, "Janus / Janus-Pro checkpoint directory")->required();
        app.add_option("jobs", opt->b.jobs, "JOBS.jsonl: one {\"id\", \"prompt\", \"n\", \"seed\", ...} per line")->required();
        app.add_option("-o,--output", opt->b.out, "Output directory (images, manifest.jsonl)")->required();
        app.add_option("--shard", opt->shard, "Run shard I of N (\"I/N\"); default: Slurm / Kubernetes environment");
        app.add_option("--shard-count", opt->shard_count, "Number of shards for Kubernetes JOB_COMPLETION_INDEX");
        app.add_option("--max-batch", opt->b.max_batch, "Images (2 CFG rows each) per decode step across jobs")
            ->check(CLI::Range(1, 4096));
        app.add_option("--dtype", opt->b.gen.dtype, "LM compute precision: auto, f32 or bf16");
        app.add_option("--memory-limit", opt->memory_limit, "Memory the run may use, e.g. 20G (default: detected)");
        return [opt] { return run(*opt); };
    });

}  // namespace
