// `janus generate -m MODEL "PROMPT" [-n P] [--cfg W] [--temperature T] [--top-k K] [--top-p P]
//  [--seed S] [--negative-prompt TEXT] [--greedy] [--steps K] [--dump DIR] [-o DIR|FILE.png]
//  [--contact-sheet] [--json] [--dry-run]`: Janus-Pro text-to-image (docs/generate.md). Thin: the
// pipeline is pipelines/generate*.cpp behind include/janus/generate.h; this file parses flags, draws
// the progress bar (stderr, TTY only, silent with --quiet) and prints paths / JSON.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "command.h"
#include "janus/default_model.h"
#include "janus/generate.h"
#include "janus/janus.h"

namespace {

struct Options {
    janus::ImageGenOptions gen;
    janus::ImageRequest req;
    std::string negative;
    std::string output = ".";
    std::string memory_limit;
    std::string synthetic;
    bool contact = false, json = false, dry_run = false;
};

std::string clock_str(double s) {
    char b[32];
    int t = int(s + 0.5);
    if (t >= 3600) std::snprintf(b, sizeof b, "%dh%02dm", t / 3600, t / 60 % 60);
    else std::snprintf(b, sizeof b, "%dm%02ds", t / 60, t % 60);
    return b;
}

void draw_progress(const janus::GenerateProgress& p) {
    const int width = 30;
    const int fill = p.total > 0 ? p.step * width / p.total : 0;
    std::string bar(size_t(fill), '#');
    bar.resize(size_t(width), ' ');
    std::fprintf(stderr, "\r[%s] step %d/%d", bar.c_str(), p.step, p.total);
    if (p.passes > 1) std::fprintf(stderr, " pass %d/%d", p.pass, p.passes);
    std::fprintf(stderr, "  %.1f tok/s  ETA %s   ", p.tokens_per_second, clock_str(p.eta_seconds).c_str());
    if (p.step == p.total && p.pass == p.passes) std::fputs("\n", stderr);
    std::fflush(stderr);
}

int run(const CLI::App& app, Options& opt) {
    const auto& g = janus_cli::global_options();
    janus::ImageRequest r = opt.req;
    if (app.count("--negative-prompt")) r.negative_prompt = opt.negative;
    if (!opt.memory_limit.empty()) opt.gen.memory_limit = janus::parse_size(opt.memory_limit, "--memory-limit");
    r.validate();
    if (opt.dry_run && !opt.synthetic.empty()) {  // plan for a model shape without a checkpoint
        janus::MemoryPlan pl = janus::plan_synthetic(opt.synthetic, r.n, 40, opt.gen.dtype == "f32" ? "f32" : "bf16",
                                                     opt.gen.memory_limit);
        std::string s = opt.json ? pl.to_json() + "\n" : pl.to_text();
        std::fputs(s.c_str(), stdout);
        return 0;
    }
    opt.gen.model = janus::resolve_model_dir(opt.gen.model);  // no -m: janus-shapes (include/janus/default_model.h)
    opt.gen.device = g.device;
    opt.gen.threads = g.threads;
    auto gen = janus::ImageGenerator::open(opt.gen);
    if (g.verbose) std::fprintf(stderr, "janus: %s\n", gen->description().c_str());
    janus::MemoryPlan pl = gen->plan(r);
    if (opt.dry_run) {
        std::string s = opt.json ? pl.to_json() + "\n" : pl.to_text();
        std::fputs(s.c_str(), stdout);
        return 0;
    }
    if (g.verbose || pl.passes > 1) std::fputs(pl.to_text().c_str(), stderr);
    std::function<void(const janus::GenerateProgress&)> progress;
    if (janus_cli::stderr_is_tty() && !g.quiet) progress = draw_progress;
    janus::GenerateResult res = gen->generate(r, progress);

    nlohmann::json out = {{"prompt", r.prompt},
                          {"negative_prompt", r.negative_prompt ? nlohmann::json(*r.negative_prompt) : nlohmann::json()},
                          {"model", gen->model_name()},
                          {"version", janus::version()},
                          {"seed", r.seed},
                          {"n", r.n},
                          {"cfg", r.cfg},
                          {"temperature", r.greedy ? 0.0f : r.temperature},
                          {"top_k", r.top_k},
                          {"top_p", r.top_p},
                          {"greedy", r.greedy},
                          {"steps", res.steps},
                          {"prompt_tokens", res.prompt_tokens},
                          {"passes", res.passes},
                          {"timings", {{"prefill_s", res.prefill_seconds},
                                       {"generate_s", res.generate_seconds},
                                       {"decode_s", res.decode_seconds}}}};
    nlohmann::json images = nlohmann::json::array();
    std::vector<janus::RgbImage> sheet;
    for (const auto& im : res.images) {
        nlohmann::json j = {{"index", im.index}, {"seed", im.seed}};
        if (!im.image.pixels.empty()) {
            std::string path = janus::output_image_path(opt.output, r.seed, im.index, r.n);
            janus::write_png_atomic(path, im.image, janus::image_text_chunks(r, im, gen->model_name()));
            j["path"] = path;
            if (opt.contact) sheet.push_back(im.image);
            if (!opt.json) std::printf("%s\n", path.c_str());
        } else {
            j["codes"] = im.codes;
            if (!opt.json) {
                std::printf("image %d (seed %llu): %zu codes, no image (--steps):", im.index,
                            (unsigned long long)im.seed, im.codes.size());
                for (int32_t c : im.codes) std::printf(" %d", c);
                std::printf("\n");
            }
        }
        images.push_back(j);
    }
    out["images"] = images;
    if (opt.contact && !sheet.empty()) {
        std::string path = janus::output_sheet_path(opt.output, r.seed);
        janus::write_png_atomic(path, janus::contact_sheet(sheet), {{"prompt", r.prompt}, {"model", gen->model_name()}});
        out["contact_sheet"] = path;
        if (!opt.json) std::printf("%s\n", path.c_str());
    }
    if (opt.json) std::printf("%s\n", out.dump(2).c_str());
    if (g.verbose)
        std::fprintf(stderr, "janus: %d image(s), %lld prompt tokens: prefill %.2f s, %d steps in %.2f s, decode %.2f s\n",
                     int(res.images.size()), (long long)res.prompt_tokens, res.prefill_seconds, res.steps,
                     res.generate_seconds, res.decode_seconds);
    return 0;
}

const bool registered = janus_cli::register_command(
    "generate", "Text-to-image with Janus-Pro (classifier-free guidance, VQ-16 decode to PNG)", [](CLI::App& app) {
        auto opt = std::make_shared<Options>();
        janus::ImageRequest& r = opt->req;
        app.add_option("-m,--model", opt->gen.model, "Janus / Janus-Pro checkpoint directory (default: janus-shapes, or $JANUS_MODEL)");
        app.add_option("prompt,-p,--prompt", r.prompt, "What to draw (positional, or -p)")->required();
        app.add_option("-n,--parallel", r.n, "Images for this prompt (all advance in one batched step)")
            ->check(CLI::Range(1, 4096));
        app.add_option("--cfg", r.cfg, "Classifier-free guidance weight (reference: 5)");
        app.add_option("--temperature", r.temperature, "Sampling temperature (reference: 1; 0 = greedy)")
            ->check(CLI::NonNegativeNumber);
        app.add_option("--top-k", r.top_k, "Keep the k most likely codes (0 = off, the reference)")
            ->check(CLI::NonNegativeNumber);
        app.add_option("--top-p", r.top_p, "Nucleus mass (1 = off, the reference)")->check(CLI::Range(0.0, 1.0));
        app.add_option("--seed", r.seed, "Random seed; image k uses its own sub-seed (printed, stored in the PNG)");
        app.add_option("--negative-prompt", opt->negative, "Unconditional rows from this prompt instead of pad tokens");
        app.add_flag("--greedy", r.greedy, "Argmax of the guided logits (ties to the lowest id); for tests");
        app.add_option("--steps", r.steps, "Stop after K image tokens, no decode (debugging)")->check(CLI::NonNegativeNumber);
        app.add_option("--dump", r.dump_dir, "Write gen_input_ids, step-0 logits, cfg_logits, codes, images as .npy");
        app.add_option("-o,--output", opt->output, "Output directory, or FILE.png (default: .)");
        app.add_flag("--contact-sheet", opt->contact, "Also write a grid of all images");
        app.add_flag("--json", opt->json, "Print paths and parameters as JSON");
        app.add_flag("--dry-run", opt->dry_run, "Print the memory plan and exit");
        app.add_option("--synthetic", opt->synthetic, "With --dry-run: plan for janus-pro-1b / janus-pro-7b shapes");
        app.add_option("--dtype", opt->gen.dtype, "LM compute precision: auto, f32 or bf16 (VQ decode runs in f32)");
        app.add_flag("--rope-exact", opt->gen.rope_exact, "bf16: keep exact f32 RoPE frequencies");
        app.add_option("--memory-limit", opt->memory_limit, "Memory the run may use, e.g. 20G (default: detected)");
        return [opt, &app] { return run(app, *opt); };
    });

}  // namespace
