// `janus bench generate`: the text-to-image decode step (GenEngine: 2P CFG rows through the LM body,
// gen_head, CFG + sampling, gen_aligner feed-back) with random weights of a real model's shapes,
// against the roofline measured in the same run and against eager PyTorch running the same loop
// (scripts/reference/bench_generate_torch.py, /usr/bin/python3, same thread count), also in the same run.
//
// Per P: step 0 = prefill of 2P rows × L tokens; then `steps` decode steps, median reported.
// bytes/step = LM layer weights + final norm + gen_head + gen_aligner (the LM's embedding table and
//              lm_head are never read in image generation) + KV read by attention at the mean context;
// FLOPs/step = 2 · 2P · (LM layer params + gen_head params) + 2 · P · gen_aligner params + attention
//              (4 · context · q_dim per layer per row);
// roofline time = max(bytes / measured read bandwidth, FLOPs / measured peak); fraction = that / step.
// images/minute = P · 60 / (prefill + 576 · step).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "janus/bench.h"
#include "janus/generate.h"
#include "benchmarks/roofline.h"
#include "benchmarks/torch_runner.h"
#include "pipelines/generate_engine.h"
#include "text/synthetic.h"

namespace janus {

GenerateBenchResult run_generate_benchmark(const GenerateBenchOptions& o) {
    if (o.steps < 1 || o.prompt_tokens < 2 || o.parallel.empty())
        throw Error("bench generate: --steps >= 1, --prompt-tokens >= 2 and at least one --parallel are required");
    GenerateBenchOptions opt = o;
    if (opt.threads > 0) set_cpu_threads(opt.threads);
    Backend& be = cpu_backend();
    opt.threads = be.threads();
    DType wdt;
    if (!dtype_from_name(opt.dtype, &wdt) || (wdt != DType::bf16 && wdt != DType::f32))
        throw Error("bench generate: --dtype must be bf16 or f32, got '" + opt.dtype + "'");

    GenerateBenchResult r;
    r.model = opt.synthetic + " (synthetic)";
    r.dtype = opt.dtype;
    r.backend = be.name();
    r.threads = opt.threads;
    r.steps = opt.steps;
    r.prompt_tokens = opt.prompt_tokens;

    // ---- PyTorch first (its weights are freed before ours are built): bf16 and f32, the faster counts ----
    std::vector<nlohmann::json> torch_runs;
    if (opt.torch) {
        for (const char* dt : {"bf16", "f32"}) {
            bench::TorchRunOptions to;
            to.python = opt.python;
            to.script = "bench_generate_torch.py";
            to.args = {"--model", opt.synthetic, "--steps", std::to_string(opt.steps), "--prompt-tokens",
                       std::to_string(opt.prompt_tokens), "--threads", std::to_string(opt.threads), "--dtype", dt,
                       "--parallel"};
            for (int p : opt.parallel) to.args.push_back(std::to_string(p));
            bench::TorchRun run = bench::run_torch_script(to);
            if (!run.ok) {
                r.torch_note += (r.torch_note.empty() ? "" : "; ") + run.note;
                continue;
            }
            torch_runs.push_back(run.result);
            r.torch_version = torch_runs.back().value("torch_version", "");
        }
    }

    r.read_gbps = bench::measure_read_bandwidth().read_gbps;
    const bool bf16dot = wdt == DType::bf16 && bench::bf16_peak_loop(1) > 0;
    r.peak_gflops = bench::measure_peak_gflops(bf16dot);

    // ---- our model ----
    GenParts parts;
    parts.be = &be;
    LmConfig cfg = synthetic_lm_config(opt.synthetic);
    LmRunOptions ro;
    ro.dtype = wdt == DType::bf16 ? ComputeDType::bf16 : ComputeDType::f32;
    parts.lm = std::make_unique<LlamaModel>(be, cfg, synthetic_lm_weights(cfg, wdt, be, opt.seed, opt.threads), ro);
    parts.heads = GenHeads::random(be, cfg.hidden, 16384, 8, wdt, opt.seed + 7);
    parts.image_tokens = 576;
    const LmWeights& w = parts.lm->weights();
    const double lm_read = double(w.bytes()) - double(w.embed.nbytes()) - double(w.lm_head.nbytes());
    const double lm_params_per_row = double(cfg.parameter_count()) - double(w.embed.numel()) - double(w.lm_head.numel());
    r.weight_bytes = lm_read + double(parts.heads.bytes());
    const double kv_tok = double(cfg.layers) * 2.0 * double(cfg.kv_dim()) * double(dtype_size(parts.lm->default_kv_dtype()));

    for (int P : opt.parallel) {
        GenEngine engine(parts, P, opt.prompt_tokens + opt.steps + 2);
        auto rq = std::make_shared<GenRequestState>();
        const uint64_t V = uint64_t(cfg.vocab_size);
        for (int i = 0; i < opt.prompt_tokens; ++i) rq->ids_c.push_back(int32_t((uint64_t(i) * 2654435761u + 11) % V));
        rq->ids_u = rq->ids_c;
        for (size_t i = 1; i + 1 < rq->ids_u.size(); ++i) rq->ids_u[i] = int32_t(V - 1);  // stands in for the pad id
        rq->req.prompt = "bench";
        rq->req.n = P;
        rq->req.cfg = 5.0f;
        rq->req.seed = opt.seed;
        rq->sampling.temperature = 1.0f;  // the reference's full 16384-way multinomial
        rq->steps = opt.steps + 1;
        engine.add(rq);
        std::vector<double> times;
        while (!engine.idle()) {
            times.push_back(engine.step().seconds);
            engine.take_finished();
        }
        GenerateBenchRow row;
        row.parallel = P;
        row.prefill_ms = times[0] * 1e3;
        std::vector<double> dec(times.begin() + 1, times.end());
        std::sort(dec.begin(), dec.end());
        row.step_ms = dec[dec.size() / 2] * 1e3;
        const double ctx = double(opt.prompt_tokens) + double(opt.steps) / 2.0 + 1.0;
        const double rows = 2.0 * P;
        row.bytes_per_step = r.weight_bytes + rows * ctx * kv_tok;
        row.flops_per_step = rows * 2.0 * lm_params_per_row + rows * parts.heads.head_flops_per_row() +
                             P * parts.heads.aligner_flops_per_row() + rows * double(cfg.layers) * 4.0 * ctx * double(cfg.q_dim());
        const double s = row.step_ms / 1e3;
        row.achieved_gbps = row.bytes_per_step / s / 1e9;
        row.achieved_gflops = row.flops_per_step / s / 1e9;
        const double t_min = std::max(row.bytes_per_step / (r.read_gbps * 1e9), row.flops_per_step / (r.peak_gflops * 1e9));
        row.roofline_fraction = t_min / s;
        row.images_per_minute = P * 60.0 / (row.prefill_ms / 1e3 + 576.0 * s);
        for (const auto& tj : torch_runs)
            for (const auto& tr : tj["rows"])
                if (tr["parallel"].get<int>() == P) {
                    const double ms = tr["step_ms"].get<double>();
                    if (row.torch_step_ms == 0 || ms < row.torch_step_ms) {
                        row.torch_step_ms = ms;
                        row.torch_prefill_ms = tr["prefill_ms"].get<double>();
                    }
                }
        if (row.torch_step_ms > 0) row.speedup = row.torch_step_ms / row.step_ms;
        r.rows.push_back(row);
    }
    if (!torch_runs.empty()) {
        std::ostringstream n;
        n << "PyTorch " << r.torch_version << " eager, ";
        for (size_t i = 0; i < torch_runs.size(); ++i) {
            n << (i ? "; " : "") << torch_runs[i].value("dtype", "?") << ":";
            for (const auto& tr : torch_runs[i]["rows"])
                n << " P=" << tr["parallel"].get<int>() << " " << int(tr["step_ms"].get<double>()) << " ms/step";
        }
        n << " (the faster dtype is compared)";
        r.torch_note = n.str() + (r.torch_note.empty() ? "" : "; " + r.torch_note);
    }
    return r;
}

std::string GenerateBenchResult::to_text() const {
    std::ostringstream o;
    char b[512];
    o << "janus bench generate: " << model << ", " << dtype << " weights, " << backend << ", " << threads
      << " threads, L = " << prompt_tokens << ", " << steps << " decode steps per P\n";
    std::snprintf(b, sizeof b, "weights read per step %.2f GB; measured read bandwidth %.1f GB/s, peak %.0f GFLOP/s\n\n",
                  weight_bytes / 1e9, read_gbps, peak_gflops);
    o << b;
    o << "| P (rows) | prefill ms | step ms | images/min (576 steps) | GB/step | GFLOP/step | GB/s | GFLOP/s | roofline | torch step ms | speedup |\n";
    o << "|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : rows) {
        std::snprintf(b, sizeof b, "| %d (%d) | %.0f | %.1f | %.2f | %.2f | %.1f | %.1f | %.0f | %.0f%% | %s | %s |\n", r.parallel,
                      2 * r.parallel, r.prefill_ms, r.step_ms, r.images_per_minute, r.bytes_per_step / 1e9,
                      r.flops_per_step / 1e9, r.achieved_gbps, r.achieved_gflops, 100.0 * r.roofline_fraction,
                      r.torch_step_ms > 0 ? std::to_string(int(r.torch_step_ms + 0.5)).c_str() : "-",
                      r.speedup > 0 ? (std::to_string(int(r.speedup * 100 + 0.5) / 100.0).substr(0, 4) + "x").c_str() : "-");
        o << b;
    }
    if (!torch_note.empty()) o << "\n" << torch_note << "\n";
    return o.str();
}

std::string GenerateBenchResult::to_json() const {
    nlohmann::json j = {{"model", model},           {"dtype", dtype},         {"backend", backend},
                        {"threads", threads},       {"steps", steps},         {"prompt_tokens", prompt_tokens},
                        {"weight_bytes", weight_bytes}, {"read_gbps", read_gbps}, {"peak_gflops", peak_gflops},
                        {"torch_version", torch_version}, {"torch_note", torch_note}};
    j["rows"] = nlohmann::json::array();
    for (const auto& r : rows)
        j["rows"].push_back({{"parallel", r.parallel},
                             {"prefill_ms", r.prefill_ms},
                             {"step_ms", r.step_ms},
                             {"images_per_minute", r.images_per_minute},
                             {"bytes_per_step", r.bytes_per_step},
                             {"flops_per_step", r.flops_per_step},
                             {"achieved_gbps", r.achieved_gbps},
                             {"achieved_gflops", r.achieved_gflops},
                             {"roofline_fraction", r.roofline_fraction},
                             {"torch_step_ms", r.torch_step_ms},
                             {"torch_prefill_ms", r.torch_prefill_ms},
                             {"speedup", r.speedup}});
    return j.dump(2);
}

}  // namespace janus
