// Flags shared by `janus caption` and `janus ask` (model, precision, sampling as in `janus chat`,
// --greedy, --max-new-tokens, --dump) and the code that turns them into UnderstandOptions.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "command.h"
#include "janus/default_model.h"
#include "janus/understand.h"

namespace janus_cli {

struct UnderstandFlags {
    janus::UnderstandOptions o;
    std::string system;
    bool greedy = false;
    uint64_t seed = 0;
};

inline void add_understand_flags(CLI::App& app, UnderstandFlags& f) {
    janus::UnderstandOptions& o = f.o;
    app.add_option("-m,--model", o.model, "Janus checkpoint directory (official or transformers layout; default: janus-shapes, or $JANUS_MODEL)");
    app.add_option("--dtype", o.dtype, "LM compute precision: auto, f32 or bf16 (vision runs in f32)");
    app.add_flag("--rope-exact", o.rope_exact, "bf16: keep exact f32 RoPE frequencies");
    app.add_option("--system", f.system, "System prompt (default: Janus' understanding prompt; \"\" for none)");
    app.add_option("-n,--max-new-tokens", o.max_new_tokens, "Most tokens per answer (reference: 512)")
        ->check(CLI::PositiveNumber);
    app.add_flag("--greedy", f.greedy, "Greedy decoding (the default; overrides --temperature)");
    app.add_option("--temperature", o.sampling.temperature, "Sampling temperature (0 = greedy)")->check(CLI::NonNegativeNumber);
    app.add_option("--top-k", o.sampling.top_k, "Keep the k most likely tokens (0 = off)")->check(CLI::NonNegativeNumber);
    app.add_option("--top-p", o.sampling.top_p, "Nucleus sampling mass (1 = off)")->check(CLI::Range(0.0, 1.0));
    app.add_option("--min-p", o.sampling.min_p, "Drop tokens below min-p × the top probability (0 = off)")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--repeat-penalty", o.sampling.repetition_penalty, "Repetition penalty (1 = off)")
        ->check(CLI::PositiveNumber);
    app.add_option("--presence-penalty", o.sampling.presence_penalty, "Presence penalty (0 = off)");
    app.add_option("--frequency-penalty", o.sampling.frequency_penalty, "Frequency penalty (0 = off)");
    app.add_option("--seed", f.seed, "Random seed (same seed → same answer)");
    app.add_option("--dump", o.dump_dir, "Write the run's tensors as .npy into this directory (docs/understand.md)");
}

inline janus::UnderstandOptions finish_understand_flags(const CLI::App& app, UnderstandFlags& f) {
    janus::UnderstandOptions o = f.o;
    const GlobalOptions& g = global_options();
    o.model = janus::resolve_model_dir(o.model);  // no -m: the default model
    o.device = g.device;
    o.threads = g.threads;
    if (app.count("--system")) o.system = f.system;
    if (f.greedy) o.sampling.temperature = 0.0f;
    o.sampling.seed = f.seed;
    return o;
}

inline void print_understand_stats(const janus::UnderstandResult& r) {
    std::fprintf(stderr, "janus: %d image(s), %lld prompt tokens: vision %.2f s, prefill %.2f s, %zu tokens in %.2f s (%s)\n",
                 r.images, (long long)r.prompt_tokens, r.vision_seconds, r.prefill_seconds, r.tokens.size(),
                 r.decode_seconds, r.finish_reason.c_str());
}

}  // namespace janus_cli
