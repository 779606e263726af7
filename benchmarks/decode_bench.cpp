// `janus bench decode`: LlamaModel speed against the memory roofline, measured in one run.
//   1. weights: random with a named model's LM shapes (text/synthetic.h) or a real model directory;
//   2. the read bandwidth of benchmarks/roofline.h (best of its streaming patterns and the GEMV's own)
//      on the backend's threads;
//   3. prefill of `prefill_tokens` tokens (batch 1) → prefill tok/s;
//   4. `tokens` greedy decode steps at batch 1 (after the prefill) → step ms, tok/s;
//   5. `tokens` decode steps at batch `batch` (short prompts) → step ms;
//   6. one profiled step of each (per-op ms), peak RSS (VmHWM).
// bytes_per_step = weight bytes a decode step reads (every layer matrix, final norm, LM head, one
// embedding row) + the K/V bytes attention reads at the mean context of the batch-1 run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "janus/bench.h"
#include "janus/text.h"
#include "kernels/backend.h"
#include "benchmarks/roofline.h"
#include "pipelines/model_bundle.h"
#include "text/sampling.h"
#include "text/synthetic.h"

namespace janus {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double peak_rss_bytes() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;
    return 0;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

std::vector<int32_t> prompt_ids(int64_t n, int64_t vocab, uint64_t salt) {
    std::vector<int32_t> p;
    for (int64_t i = 0; i < n; i++) p.push_back(int32_t((uint64_t(i) * 2654435761u + salt * 97 + 11) % uint64_t(vocab)));
    return p;
}

// Greedy next tokens for each output row of `out` (host copy when needed).
std::vector<int32_t> next_tokens(LlamaModel& m, const StepOutputs& out) {
    const int64_t R = out.logits.dim(0), V = out.logits.dim(1);
    std::vector<float> host;
    const float* p = out.logits.ptr<float>();
    if (!out.logits.is_cpu()) {
        host.resize(size_t(R * V));
        m.backend().copy(Tensor(host.data(), DType::f32, out.logits.shape()), out.logits);
        p = host.data();
    }
    std::vector<int32_t> t;
    for (int64_t r = 0; r < R; r++) t.push_back(argmax(std::span<const float>(p + r * V, size_t(V))));
    return t;
}
}  // namespace

DecodeBenchResult run_decode_benchmark(const DecodeBenchOptions& o) {
    if (o.tokens <= 0 || o.prefill_tokens <= 0 || o.batch <= 0)
        throw Error("bench decode: --tokens, --prefill and --batch must be positive");
    if (o.threads > 0) set_cpu_threads(o.threads);
    Backend& be = get_backend(o.device);
    DecodeBenchResult r;
    r.device = be.name();
    r.threads = be.threads();
    r.batch = o.batch;

    // Bandwidth first, so its 1 GiB buffer is gone before the model's peak RSS builds up.
    // (CPU only: a GPU's bandwidth is measured by the CUDA backend's own bench; fraction then 0.)
    if (be.device().kind == DeviceKind::cpu) r.measured_bandwidth_gbps = bench::measure_read_bandwidth().read_gbps;

    // ---- weights ----
    auto t0 = Clock::now();
    std::unique_ptr<LlamaModel> model;
    LmRunOptions ro;
    if (!o.model.empty()) {
        BundleOptions bo;
        bo.load_tokenizer = false;
        ModelBundle b = open_model_bundle(o.model, bo);
        ro.dtype = compute_dtype_from_name(o.dtype);
        model = build_language_model(b, be, ro);
        r.model = o.model;
    } else {
        LmConfig cfg = synthetic_lm_config(o.synthetic);
        DType wdt;
        if (!dtype_from_name(o.dtype, &wdt) || (wdt != DType::bf16 && wdt != DType::f32 && wdt != DType::f16))
            throw Error("bench decode: --dtype must be bf16, f16 or f32 for synthetic weights, got '" + o.dtype + "'");
        ro.dtype = wdt == DType::bf16 ? ComputeDType::bf16 : ComputeDType::f32;
        // Weights are filled on the host: with every host thread, also when the backend is a GPU
        // (whose threads() is 1) — one thread needs ~1 min for the 7B shapes.
        const int fill_threads = be.device().kind == DeviceKind::cpu
                                     ? r.threads
                                     : std::max(1, int(std::thread::hardware_concurrency()));
        model = std::make_unique<LlamaModel>(be, cfg, synthetic_lm_weights(cfg, wdt, be, o.seed, fill_threads), ro);
        r.model = o.synthetic + " (synthetic)";
    }
    r.build_s = since(t0);
    LlamaModel& m = *model;
    const LmConfig& cfg = m.config();
    r.dtype = std::string(dtype_name(m.weights().dtype())) + " weights, " + (m.bf16() ? "bf16" : "f32") + " compute";
    r.weight_bytes = double(m.weights().bytes());

    // ---- caches ----
    const int64_t short_prompt = 16;
    KvCache c1(be, cfg, 1, o.prefill_tokens + o.tokens + 1, m.default_kv_dtype());
    KvCache cn(be, cfg, o.batch, short_prompt + o.tokens + 1, m.default_kv_dtype());
    r.kv_bytes = double(c1.bytes() + cn.bytes());

    // First touch (page faults of a mapped checkpoint; workspace allocation) with one token.
    {
        std::vector<int32_t> one = {1};
        SeqChunk c{0, 0, one, {}, OutputRows::last};
        t0 = Clock::now();
        m.forward({&c, 1}, c1, true);
        be.synchronize();
        r.first_touch_s = since(t0);
    }

    // ---- prefill (batch 1) ----
    auto prompt = prompt_ids(o.prefill_tokens, cfg.vocab_size, 1);
    SeqChunk pc{0, 0, prompt, {}, OutputRows::last};
    t0 = Clock::now();
    StepOutputs out = m.forward({&pc, 1}, c1, true);
    be.synchronize();
    r.prefill_tok_s = double(o.prefill_tokens) / since(t0);

    // ---- decode batch 1 ----
    std::vector<double> steps;
    int32_t tok = next_tokens(m, out)[0];
    double kv_read = 0;
    for (int s = 0; s < o.tokens; s++) {
        SeqChunk d{0, o.prefill_tokens + s, std::span<const int32_t>(&tok, 1), {}, OutputRows::last};
        kv_read += double(o.prefill_tokens + s + 1) * double(c1.bytes_per_token());
        t0 = Clock::now();
        out = m.forward({&d, 1}, c1, true);
        tok = next_tokens(m, out)[0];
        steps.push_back(since(t0));
    }
    r.decode_step_ms_b1 = median(steps) * 1e3;
    r.decode_tok_s_b1 = 1e3 / r.decode_step_ms_b1;
    const LmWeights& w = m.weights();
    double read = double(w.bytes());
    if (w.lm_head.data() != w.embed.data())
        read -= double(w.embed.nbytes()) - double(cfg.hidden * int64_t(dtype_size(w.embed.dtype())));
    r.bytes_per_step = read + kv_read / o.tokens;
    r.achieved_gbps = r.bytes_per_step / (r.decode_step_ms_b1 * 1e-3) / 1e9;
    r.bandwidth_fraction = r.measured_bandwidth_gbps > 0 ? r.achieved_gbps / r.measured_bandwidth_gbps : 0;

    // ---- decode batch N ----
    std::vector<std::vector<int32_t>> prompts;
    std::vector<SeqChunk> chunks;
    for (int b = 0; b < o.batch; b++) prompts.push_back(prompt_ids(short_prompt, cfg.vocab_size, uint64_t(b) + 2));
    for (int b = 0; b < o.batch; b++) chunks.push_back({b, 0, prompts[size_t(b)], {}, OutputRows::last});
    out = m.forward(chunks, cn, true);
    std::vector<int32_t> toks = next_tokens(m, out);
    steps.clear();
    for (int s = 0; s < o.tokens; s++) {
        for (int b = 0; b < o.batch; b++)
            chunks[size_t(b)] = {b, short_prompt + s, std::span<const int32_t>(&toks[size_t(b)], 1), {}, OutputRows::last};
        t0 = Clock::now();
        out = m.forward(chunks, cn, true);
        toks = next_tokens(m, out);
        steps.push_back(since(t0));
    }
    r.decode_step_ms_bn = median(steps) * 1e3;
    r.decode_tok_s_bn = double(o.batch) * 1e3 / r.decode_step_ms_bn;

    // ---- where time goes: one profiled step at batch 1 and at batch N ----
    for (int pass = 0; pass < 2; pass++) {
        OpProfile prof;
        m.set_profile(&prof);
        if (pass == 0) {
            SeqChunk d{0, o.prefill_tokens + o.tokens, std::span<const int32_t>(&tok, 1), {}, OutputRows::last};
            m.forward({&d, 1}, c1, true);
        } else {
            for (int b = 0; b < o.batch; b++)
                chunks[size_t(b)] = {b, short_prompt + o.tokens, std::span<const int32_t>(&toks[size_t(b)], 1), {},
                                     OutputRows::last};
            m.forward(chunks, cn, true);
        }
        m.set_profile(nullptr);
        std::string prefix = "b";
        prefix += pass == 0 ? std::string("1") : std::to_string(o.batch);
        prefix += '.';
        for (auto& [k, v] : prof.seconds) r.breakdown_ms.push_back({prefix + k, v * 1e3});
    }
    r.peak_rss_bytes = peak_rss_bytes();
    return r;
}

void write_synthetic_model(const std::string& synthetic, const std::string& dtype, const std::string& dir,
                           uint64_t seed) {
    DType wdt;
    if (!dtype_from_name(dtype, &wdt)) throw Error("--dtype: unknown dtype '" + dtype + "'");
    write_synthetic_checkpoint(synthetic_lm_config(synthetic), wdt, dir, seed,
                               std::max(1u, std::thread::hardware_concurrency()));
}

std::string DecodeBenchResult::to_json() const {
    nlohmann::json j;
    j["model"] = model;
    j["dtype"] = dtype;
    j["device"] = device;
    j["threads"] = threads;
    j["weight_bytes"] = weight_bytes;
    j["kv_bytes"] = kv_bytes;
    j["build_s"] = build_s;
    j["first_touch_s"] = first_touch_s;
    j["prefill_tok_s"] = prefill_tok_s;
    j["decode_tok_s_b1"] = decode_tok_s_b1;
    j["decode_step_ms_b1"] = decode_step_ms_b1;
    j["decode_step_ms_b" + std::to_string(batch)] = decode_step_ms_bn;
    j["decode_tok_s_b" + std::to_string(batch)] = decode_tok_s_bn;
    j["batch"] = batch;
    j["step_ratio_bn_over_b1"] = decode_step_ms_b1 > 0 ? decode_step_ms_bn / decode_step_ms_b1 : 0;
    j["bytes_per_step"] = bytes_per_step;
    j["achieved_gbps"] = achieved_gbps;
    j["measured_bandwidth_gbps"] = measured_bandwidth_gbps;
    j["bandwidth_fraction"] = bandwidth_fraction;
    j["peak_rss_bytes"] = peak_rss_bytes;
    nlohmann::json b = nlohmann::json::object();
    for (auto& [k, v] : breakdown_ms) b[k] = v;
    j["breakdown_ms"] = b;
    return j.dump() + "\n";
}

std::string DecodeBenchResult::to_text() const {
    std::ostringstream s;
    char buf[512];
    auto line = [&](const char* fmt, auto... args) {
        std::snprintf(buf, sizeof buf, fmt, args...);
        s << buf;
    };
    line("model %s, %s, %s, %d threads\n", model.c_str(), dtype.c_str(), device.c_str(), threads);
    line("weights %.2f GB, KV caches %.2f GB, peak RSS %.2f GB; built/opened in %.2f s, first step %.2f s\n",
         weight_bytes / 1e9, kv_bytes / 1e9, peak_rss_bytes / 1e9, build_s, first_touch_s);
    line("prefill (batch 1):        %9.1f tok/s\n", prefill_tok_s);
    line("decode batch 1:           %9.2f tok/s   %8.1f ms/step\n", decode_tok_s_b1, decode_step_ms_b1);
    line("decode batch %-3d         %9.2f tok/s   %8.1f ms/step  (%.2fx the batch-1 step)\n", batch, decode_tok_s_bn,
         decode_step_ms_bn, decode_step_ms_b1 > 0 ? decode_step_ms_bn / decode_step_ms_b1 : 0.0);
    line("bytes per step %.3f GB -> %.2f GB/s achieved, measured read bandwidth %.2f GB/s: %.0f%%\n",
         bytes_per_step / 1e9, achieved_gbps, measured_bandwidth_gbps, 100 * bandwidth_fraction);
    s << "one profiled step (ms):";
    for (auto& [k, v] : breakdown_ms) {
        line(" %s %.1f", k.c_str(), v);
    }
    s << "\n";
    return s.str();
}

}  // namespace janus
