// bench_cuda: op-level GPU benchmarks for scripts/device-check, through the Backend interface only.
// Measured in one run, so every number has its own ceiling next to it:
//   copy    device-to-device copy bandwidth (bytes read + written) — the memory roofline;
//   gemv    bf16 weight GEMV (M = 1, 2) over rotating weights larger than L2: GB/s of weights read;
//   decode  a synthetic Llama decode step with Janus-Pro-1B/7B shapes (bf16 weights, bf16 KV cache
//           of `ctx` positions, precision bf16), eager and CUDA-graph replayed; batch 1 (chat) and
//           batch 32 (16 images × CFG pair, one KV cache per row) with the gen head + CFG + sampling.
//           Bytes counted: every weight once + the KV cache read, per step. Step breakdown: matmuls
//           alone vs the whole step (the difference is attention, norms, rope and the rest);
//   t2i     the text-to-image step itself (pipelines/generate_engine.h: GenEngine — 2P CFG rows through
//           the real LlamaModel, gen_head, CFG + sampling, gen_aligner feed-back; what `janus bench
//           generate` measures on the CPU) for Janus-Pro-1B and 7B shapes at P = 1 and 16, with step
//           graphs off and on (LmRunOptions::step_graphs): prefill, median step, images/min;
//   library the library's `janus bench decode` (run_decode_benchmark: the real LlamaModel) on cuda.
// Output: a Markdown table on stdout whose rows are printed (and flushed) as each measurement
// completes, so a run cut short by a timeout keeps what it measured; details on stderr. Random weights
// (never zeros: see the device notes); the LM weights of t2i/library are filled on the host with every
// host thread. Usage: bench_cuda [--quick] [--ctx N] [--only t2i|decode]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <thread>

#include "janus/bench.h"
#include "janus/error.h"
#include "janus/text.h"
#include "kernels/backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_sampling.h"
#include "pipelines/generate_engine.h"
#include "text/synthetic.h"

using namespace janus;

namespace {

// One table row, printed at once: stdout is flushed so a timeout loses nothing measured.
void row(const std::string& what, const std::string& value, const std::string& ceiling, const std::string& fraction) {
    std::printf("| %s | %s | %s | %s |\n", what.c_str(), value.c_str(), ceiling.c_str(), fraction.c_str());
    std::fflush(stdout);
}
int host_threads() { return std::max(1, int(std::thread::hardware_concurrency())); }

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Median seconds per call of fn over `batches` batches of `reps` calls each (after one warm-up batch).
double time_median(Backend& b, int reps, int batches, const std::function<void()>& fn) {
    for (int i = 0; i < reps; i++) fn();
    b.synchronize();
    std::vector<double> t;
    for (int k = 0; k < batches; k++) {
        double t0 = now();
        for (int i = 0; i < reps; i++) fn();
        b.synchronize();
        t.push_back((now() - t0) / reps);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// Fill a device tensor with random bits of a 16 MiB host pattern (bf16 values in about ±0.06, or
// f32 in ±1): the pattern is uploaded once and replicated device-side.
void fill_random(Backend& b, const Tensor& t) {
    static Tensor pattern_dev;
    const int64_t pat_bytes = 16 << 20;
    if (!pattern_dev.defined()) {
        std::mt19937 rng(1234);
        std::uniform_real_distribution<float> d(-1.0f, 1.0f);
        Tensor h = Tensor::empty(DType::u8, {pat_bytes});
        // Alternate halves of bf16 (scaled) and plain f32 patterns would complicate views; instead
        // fill as bf16 words of small values — read as f32 these are still finite, non-zero numbers.
        uint16_t* p = h.ptr<uint16_t>();
        for (int64_t i = 0; i < pat_bytes / 2; i++) p[i] = f32_to_bf16(0.06f * d(rng));
        pattern_dev = b.upload(h);
    }
    int64_t bytes = int64_t(t.nbytes());
    char* dst = static_cast<char*>(t.data());
    for (int64_t off = 0; off < bytes; off += pat_bytes) {
        int64_t n = std::min(pat_bytes, bytes - off);
        Tensor dv(dst + off, DType::u8, {n}, t.device(), t.owner());
        Tensor sv(pattern_dev.data(), DType::u8, {n}, t.device(), pattern_dev.owner());
        b.copy(dv, sv);
    }
}

Tensor rand_tensor(Backend& b, DType dt, const Shape& s) {
    Tensor t = b.alloc(dt, s);
    fill_random(b, t);
    return t;
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

// ---- copy bandwidth -----------------------------------------------------------------------------------
double bench_copy(Backend& b, bool quick) {
    int64_t n = (quick ? 256ll : 1024ll) << 20;  // bytes per buffer
    Tensor src = rand_tensor(b, DType::u8, {n}), dst = b.alloc(DType::u8, {n});
    double t = time_median(b, 10, 5, [&] { b.copy(dst, src); });
    double gbs = 2.0 * double(n) / t / 1e9;
    std::fprintf(stderr, "copy: %.0f MiB D2D in %.3f ms -> %.0f GB/s (read + write)\n", double(n) / (1 << 20), t * 1e3, gbs);
    row("D2D copy " + std::to_string(n >> 20) + " MiB", fmt("%.0f GB/s", gbs), "-", "-");
    return gbs;
}

// ---- GEMV ----------------------------------------------------------------------------------------------
void bench_gemv(Backend& b, double copy_gbs, bool quick) {
    const int64_t N = 11008, K = 4096;
    int nw = quick ? 2 : 8;  // 8 × 90 MB = 720 MB, far above the 60 MB L2
    std::vector<Tensor> ws;
    for (int i = 0; i < nw; i++) ws.push_back(rand_tensor(b, DType::bf16, {N, K}));
    for (int64_t M : {1, 2, 8}) {
        Tensor x = rand_tensor(b, DType::f32, {M, K}), y = b.alloc(DType::f32, {M, N});
        // Random bf16 bit patterns read as f32 are finite small numbers; keep them as they are.
        int i = 0;
        double t = time_median(b, nw * 4, 5, [&] {
            b.matmul(y, x, ws[size_t(i++ % nw)], Tensor(), MatmulPrecision::bf16, false);
        });
        double gbs = double(N * K * 2) / t / 1e9;
        std::fprintf(stderr, "gemv M=%lld [%lld x %lld] bf16: %.1f us -> %.0f GB/s of weights\n", (long long)M,
                     (long long)N, (long long)K, t * 1e6, gbs);
        row("GEMV bf16 M=" + std::to_string(M) + " 11008x4096", fmt("%.0f GB/s", gbs),
            fmt("%.0f GB/s", copy_gbs), fmt("%.0f%%", 100.0 * gbs / copy_gbs));
    }
}

// ---- synthetic decode step ------------------------------------------------------------------------------
struct Shapes {
    const char* name;
    int64_t hidden, inter, layers, heads, head_dim, gen_vocab;
};
const Shapes kJanus1B{"janus-pro-1b", 2048, 5632, 24, 16, 128, 16384};
const Shapes kJanus7B{"janus-pro-7b", 4096, 11008, 30, 32, 128, 16384};

struct Layer {
    Tensor wq, wk, wv, wo, wg, wu, wd, n1, n2;
    std::vector<Tensor> kc, vc;  // per row [ctx + 1, H, Dh] bf16
};

void bench_decode(Backend& b, const Shapes& s, int rows, int64_t ctx, double copy_gbs, bool quick) {
    const int64_t D = s.hidden, F = s.inter, H = s.heads, Dh = s.head_dim;
    std::vector<Layer> L(static_cast<size_t>(s.layers));
    double weight_bytes = 0;
    for (auto& l : L) {
        l.wq = rand_tensor(b, DType::bf16, {D, D});
        l.wk = rand_tensor(b, DType::bf16, {D, D});
        l.wv = rand_tensor(b, DType::bf16, {D, D});
        l.wo = rand_tensor(b, DType::bf16, {D, D});
        l.wg = rand_tensor(b, DType::bf16, {F, D});
        l.wu = rand_tensor(b, DType::bf16, {F, D});
        l.wd = rand_tensor(b, DType::bf16, {D, F});
        l.n1 = rand_tensor(b, DType::bf16, {D});
        l.n2 = rand_tensor(b, DType::bf16, {D});
        weight_bytes += 2.0 * double(4 * D * D + 3 * F * D);
        for (int r = 0; r < rows; r++) {
            l.kc.push_back(rand_tensor(b, DType::bf16, {ctx + 1, H, Dh}));
            l.vc.push_back(rand_tensor(b, DType::bf16, {ctx + 1, H, Dh}));
        }
    }
    Tensor head = rand_tensor(b, DType::bf16, {s.gen_vocab, D}), nf = rand_tensor(b, DType::bf16, {D});
    weight_bytes += 2.0 * double(s.gen_vocab * D);
    double kv_bytes = double(s.layers) * rows * 2.0 * double((ctx + 1) * H * Dh) * 2.0;
    // Activations.
    Tensor x = rand_tensor(b, DType::f32, {rows, D}), hn = b.alloc(DType::f32, {rows, D});
    Tensor q = b.alloc(DType::f32, {rows, D}), k = b.alloc(DType::f32, {rows, D}), v = b.alloc(DType::f32, {rows, D});
    Tensor att = b.alloc(DType::f32, {rows, D}), g = b.alloc(DType::f32, {rows, F}), u = b.alloc(DType::f32, {rows, F});
    Tensor logits = b.alloc(DType::f32, {rows, s.gen_vocab});
    int P = rows / 2;
    Tensor comb = b.alloc(DType::f32, {std::max(P, 1), s.gen_vocab}), tokens = b.alloc(DType::i32, {std::max(P, 1)});
    Tensor ctmp = b.alloc(DType::f32, {std::max(P, 1), s.gen_vocab});
    std::vector<int32_t> pos_h(static_cast<size_t>(rows), static_cast<int32_t>(ctx));
    Tensor pos = b.upload(Tensor::from_i32(pos_h, {rows}));
    std::vector<float> inv_h(static_cast<size_t>(Dh / 2));
    for (int64_t j = 0; j < Dh / 2; j++) inv_h[size_t(j)] = float(std::pow(10000.0, -2.0 * double(j) / double(Dh)));
    Tensor inv = b.upload(Tensor::from_f32(inv_h, {Dh / 2}));
    // x is re-normalised every step so the residual stream stays finite over many replays.
    auto step = [&](bool matmuls_only) {
        for (auto& l : L) {
            if (!matmuls_only) b.rms_norm(hn, x, l.n1, 1e-6f, true);
            b.matmul(q, hn, l.wq, Tensor(), MatmulPrecision::bf16, false);
            b.matmul(k, hn, l.wk, Tensor(), MatmulPrecision::bf16, false);
            b.matmul(v, hn, l.wv, Tensor(), MatmulPrecision::bf16, false);
            if (!matmuls_only) {
                b.rope(q.reshape({rows, H, Dh}), pos, inv, true);
                b.rope(k.reshape({rows, H, Dh}), pos, inv, true);
                for (int r = 0; r < rows; r++) {
                    b.convert(l.kc[size_t(r)].row(ctx), k.row(r));
                    b.convert(l.vc[size_t(r)].row(ctx), v.row(r));
                    b.attention(att.row(r).reshape({1, H, Dh}), q.row(r).reshape({1, H, Dh}), l.kc[size_t(r)],
                                l.vc[size_t(r)], 1.0f / std::sqrt(float(Dh)), ctx);
                }
            }
            b.matmul(x, att, l.wo, Tensor(), MatmulPrecision::bf16, true);
            if (!matmuls_only) b.rms_norm(hn, x, l.n2, 1e-6f, true);
            b.matmul(g, hn, l.wg, Tensor(), MatmulPrecision::bf16, false);
            b.matmul(u, hn, l.wu, Tensor(), MatmulPrecision::bf16, false);
            if (!matmuls_only) b.swiglu(g, g, u);
            b.matmul(x, g, l.wd, Tensor(), MatmulPrecision::bf16, true);
        }
        if (!matmuls_only) b.rms_norm(hn, x, nf, 1e-6f, true);
        b.matmul(logits, hn, head, Tensor(), MatmulPrecision::bf16, false);
        if (!matmuls_only) {
            b.rms_norm(x, x, Tensor(), 1e-6f, false);  // keep the synthetic residual bounded
            if (P > 0) {
                // CFG (cond rows [0, P), uncond [P, 2P)): u + 5(c − u) = 5c − 4u.
                b.scale(comb, logits.rows(0, P), 5.0f);
                b.scale(ctmp, logits.rows(P, 2 * P), -4.0f);
                b.add(comb, comb, ctmp);
                CudaSampleParams sp;
                sp.temperature = 1.0f;
                sp.seed = 7;
                cuda_sample(b, tokens, comb, sp, 0, 0);
            }
        }
    };
    fill_random(b, att);  // read by the o-projection in the matmuls-only variant: never zeros
    fill_random(b, hn);
    std::string tag = std::string(s.name) + " rows=" + std::to_string(rows) + " ctx=" + std::to_string(ctx);
    int reps = quick ? 3 : 10;
    double t_eager = time_median(b, reps, 3, [&] { step(false); });
    double t_graph = -1, t_mm = -1;
    if (b.begin_capture()) {
        step(false);
        b.end_capture();
        t_graph = time_median(b, reps, 5, [&] { b.replay(); });
        b.begin_capture();
        step(true);
        b.end_capture();
        t_mm = time_median(b, reps, 5, [&] { b.replay(); });
    }
    double bytes = weight_bytes + kv_bytes;
    double best = t_graph > 0 ? t_graph : t_eager;
    double gbs = bytes / best / 1e9;
    std::fprintf(stderr,
                 "decode %s: weights %.2f GB + KV %.2f GB; eager %.3f ms, graph %.3f ms, matmuls only (graph) %.3f ms "
                 "-> %.0f GB/s = %.0f%% of copy\n",
                 tag.c_str(), weight_bytes / 1e9, kv_bytes / 1e9, t_eager * 1e3, t_graph * 1e3, t_mm * 1e3, gbs,
                 100.0 * gbs / copy_gbs);
    row("decode step " + tag + " (graph)", fmt("%.3f ms", best * 1e3), fmt("%.3f ms", bytes / (copy_gbs * 1e9) * 1e3),
        fmt("%.0f%%", 100.0 * gbs / copy_gbs));
    row("  eager (no graph)", fmt("%.3f ms", t_eager * 1e3), "-", "-");
    if (t_mm > 0)
        row("  matmuls only / rest", fmt("%.3f ms", t_mm * 1e3), "-", fmt("rest %.3f ms", (best - t_mm) * 1e3));
    if (rows > 1)
        row("  x576 steps (" + std::to_string(P) + " images, no prefill/VQ)", fmt("%.2f s", 576 * best), "-", "-");
}

// The library's own `janus bench decode` (benchmarks/decode_bench.cpp: the real LlamaModel on the
// backend, eager, no graphs) with device cuda, so its numbers come back without the CLI binary.
void bench_library_decode(const std::string& synthetic, double copy_gbs) {
    DecodeBenchOptions o;
    o.synthetic = synthetic;
    o.device = "cuda";
    o.tokens = 32;
    o.prefill_tokens = 512;
    o.batch = 32;
    o.threads = host_threads();  // host threads fill the synthetic weights (text/decode_bench.cpp)
    try {
        DecodeBenchResult r = run_decode_benchmark(o);
        std::fprintf(stderr, "%s\n", r.to_text().c_str());
        double gbs = r.bytes_per_step / (r.decode_step_ms_b1 * 1e-3) / 1e9;
        row("janus bench decode " + synthetic + " b1 (LlamaModel, eager)", fmt("%.3f ms", r.decode_step_ms_b1),
            fmt("%.3f ms", r.bytes_per_step / (copy_gbs * 1e9) * 1e3), fmt("%.0f%%", 100.0 * gbs / copy_gbs));
        row("  b" + std::to_string(r.batch) + " step / prefill", fmt("%.3f ms", r.decode_step_ms_bn), "-",
            fmt("prefill %.0f tok/s", r.prefill_tok_s));
    } catch (const Error& e) {
        std::fprintf(stderr, "janus bench decode %s on cuda failed: %s\n", synthetic.c_str(), e.what());
        row("janus bench decode " + synthetic, "FAILED", "-", "see log");
    }
}

// ---- text-to-image step ----------------------------------------------------------------------------------
// GenEngine as `janus bench generate` drives it (pipelines/generate_bench.cpp), on the GPU: one request of
// P images with CFG 5 and temperature 1, a prompt of L tokens, `steps` decode steps; the first step is the
// prefill of 2P rows, the rest are decode steps of 2P rows (median reported).
void bench_t2i(Backend& b, const std::string& model, const std::vector<int>& parallel, int steps, double copy_gbs) {
    const int L = 24;
    double t0 = now();
    LmConfig cfg = synthetic_lm_config(model);
    LmWeights weights = synthetic_lm_weights(cfg, DType::bf16, b, 1, host_threads());
    GenHeads heads = GenHeads::random(b, cfg.hidden, 16384, 8, DType::bf16, 8);
    b.synchronize();
    const double read_bytes = double(weights.bytes()) - double(weights.embed.nbytes()) -
                              double(weights.lm_head.nbytes()) + double(heads.bytes());
    std::fprintf(stderr, "t2i %s: synthetic weights built in %.1f s (%d host threads), %.2f GB read per step\n",
                 model.c_str(), now() - t0, host_threads(), read_bytes / 1e9);
    for (bool graphs : {false, true}) {
        GenParts parts;
        parts.be = &b;
        LmRunOptions ro;
        ro.dtype = ComputeDType::bf16;
        ro.step_graphs = graphs;
        parts.lm = std::make_unique<LlamaModel>(b, cfg, weights, ro);  // shares the weight tensors
        parts.heads = heads;
        parts.image_tokens = 576;
        for (int P : parallel) {
            std::string tag = "t2i step " + model + " P=" + std::to_string(P) + (graphs ? " (graphs)" : " (eager)");
            try {
                GenEngine engine(parts, P, L + steps + 2);
                auto rq = std::make_shared<GenRequestState>();
                const uint64_t V = uint64_t(cfg.vocab_size);
                for (int i = 0; i < L; ++i) rq->ids_c.push_back(int32_t((uint64_t(i) * 2654435761u + 11) % V));
                rq->ids_u = rq->ids_c;
                for (size_t i = 1; i + 1 < rq->ids_u.size(); ++i) rq->ids_u[i] = int32_t(V - 1);
                rq->req.prompt = "bench";
                rq->req.n = P;
                rq->req.cfg = 5.0f;
                rq->req.seed = 1;
                rq->sampling.temperature = 1.0f;
                rq->steps = steps + 1;
                engine.add(rq);
                std::vector<double> times;
                while (!engine.idle()) {
                    times.push_back(engine.step().seconds);
                    engine.take_finished();
                }
                std::vector<double> dec(times.begin() + 1, times.end());
                std::sort(dec.begin(), dec.end());
                const double step_s = dec[dec.size() / 2];
                const double floor_s = read_bytes / (copy_gbs * 1e9);  // weights once per step, KV aside
                const double per_min = P * 60.0 / (times[0] + 576.0 * step_s);
                std::fprintf(stderr, "%s: prefill %.2f ms, step %.3f ms (min %.3f, max %.3f), %.2f images/min\n",
                             tag.c_str(), times[0] * 1e3, step_s * 1e3, dec.front() * 1e3, dec.back() * 1e3, per_min);
                row(tag, fmt("%.3f ms", step_s * 1e3), fmt("%.3f ms", floor_s * 1e3), fmt("%.0f%%", 100.0 * floor_s / step_s));
                row("  prefill 2P x " + std::to_string(L) + " / images per min (576 steps)", fmt("%.2f ms", times[0] * 1e3),
                    "-", fmt("%.2f img/min", per_min));
            } catch (const Error& e) {
                std::fprintf(stderr, "%s failed: %s\n", tag.c_str(), e.what());
                row(tag, "FAILED", "-", "see log");
            }
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false;
    int64_t ctx = 600;
    std::string only;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--quick") quick = true;
        else if (a == "--ctx" && i + 1 < argc) ctx = std::stoll(argv[++i]);
        else if (a == "--only" && i + 1 < argc && (std::string(argv[i + 1]) == "t2i" || std::string(argv[i + 1]) == "decode"))
            only = argv[++i];
        else {
            std::fprintf(stderr, "usage: bench_cuda [--quick] [--ctx N] [--only t2i|decode]\n");
            return 2;
        }
    }
    try {
        if (cuda_device_count() == 0) {
            std::fprintf(stderr, "bench_cuda: no CUDA device found\n");
            return 1;
        }
        Backend& b = get_backend("cuda");
        std::fprintf(stderr, "%s (allocator: %s)\n", cuda_device_description(0).c_str(), cuda_allocator(b).c_str());
        std::printf("\n| %s | measured | roofline (copy bw) | fraction |\n|---|---|---|---|\n",
                    cuda_device_description(0).c_str());
        std::fflush(stdout);
        double copy = bench_copy(b, quick);
        // The headline use first (text-to-image), then the op-level and synthetic-step detail.
        if (only != "decode") {
            bench_t2i(b, "janus-pro-1b", {1, 16}, quick ? 8 : 16, copy);
            if (!quick) bench_t2i(b, "janus-pro-7b", {1, 16}, 16, copy);
        }
        if (only == "t2i") return 0;
        bench_gemv(b, copy, quick);
        bench_decode(b, kJanus1B, 1, ctx, copy, quick);
        bench_decode(b, kJanus1B, 32, ctx, copy, quick);
        if (!quick) {
            bench_decode(b, kJanus7B, 1, ctx, copy, quick);
            bench_decode(b, kJanus7B, 32, ctx, copy, quick);
            // The mean step of a 576-token image generation (cache from ~40 to 616 positions).
            if (ctx == 600) bench_decode(b, kJanus7B, 32, 330, copy, quick);
        }
        bench_library_decode("janus-pro-1b", copy);
        if (!quick) bench_library_decode("janus-pro-7b", copy);
    } catch (const Error& e) {
        std::fprintf(stderr, "bench_cuda: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
