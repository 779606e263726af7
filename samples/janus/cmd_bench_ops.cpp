// `janus bench ops [--json] [--quick] [--min-time S] [--cpu-time]`: op micro-benchmarks next to the machine's
// measured bandwidth and peaks (include/janus/bench.h). Prints a Markdown table (or JSON) on stdout.
#include <cstdio>
#include <memory>

#include "command.h"
#include "janus/bench.h"

namespace {
struct Options {
    bool json = false;
    bool quick = false;
    double min_time = 0.4;
    bool cpu_time = false;
};
}  // namespace

static const bool registered = janus_cli::register_command(
    "bench ops", "GEMV/GEMM/attention/conv2d speed vs measured memory bandwidth and peak FLOP/s",
    [](CLI::App& app) {
        auto opt = std::make_shared<Options>();
        app.add_flag("--json", opt->json, "Print JSON instead of a Markdown table");
        app.add_flag("--quick", opt->quick, "Fewer and smaller cases (a smoke run)");
        app.add_option("--min-time", opt->min_time, "Seconds to time each case after warm-up")
            ->check(CLI::PositiveNumber);
        app.add_flag("--cpu-time", opt->cpu_time,
                     "Time with the thread's CPU clock (with -t 1): kernel efficiency on a busy machine");
        return [opt] {
            janus::BenchOpsOptions o;
            o.threads = janus_cli::global_options().threads;
            o.quick = opt->quick;
            o.min_seconds = opt->min_time;
            o.progress = !janus_cli::global_options().quiet;
            o.cpu_time = opt->cpu_time;
            janus::BenchOpsReport r = janus::bench_ops(o);
            std::string out = opt->json ? janus::bench_ops_json(r) : janus::bench_ops_table(r);
            std::fwrite(out.data(), 1, out.size(), stdout);
            return 0;
        };
    });
