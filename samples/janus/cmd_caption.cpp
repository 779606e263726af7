// `janus caption -m MODEL IMAGE...`: describe each image ("Describe this image in detail." unless
// --question is given). Several images are captioned as one batch (one row per image, one forward per
// step); each caption is printed under its file name. Logic: pipelines/understand.cpp.
#include <cstdio>

#include "command.h"
#include "janus/understand.h"
#include "janus/vision.h"
#include "understand_flags.h"

namespace {

struct Options {
    janus_cli::UnderstandFlags flags;
    std::vector<std::string> images;
    std::string question = janus::default_caption_question();
};

int run(const CLI::App& app, Options& opt) {
    janus::UnderstandOptions o = janus_cli::finish_understand_flags(app, opt.flags);
    std::vector<std::vector<janus::RgbImage>> rows;
    for (const auto& p : opt.images) rows.push_back({janus::read_image(p)});
    auto u = janus::Understander::open(o);
    const bool verbose = janus_cli::global_options().verbose;
    if (verbose) std::fprintf(stderr, "janus: %s\n", u->description().c_str());
    if (rows.size() == 1) {  // stream a single caption
        auto r = u->ask(rows[0], opt.question, [](const std::string& piece) {
            std::fputs(piece.c_str(), stdout);
            std::fflush(stdout);
        });
        std::fputs("\n", stdout);
        if (verbose) janus_cli::print_understand_stats(r);
        return 0;
    }
    auto results = u->ask_batch(rows, opt.question);
    for (size_t i = 0; i < results.size(); ++i) {
        std::printf("%s:\n%s\n%s", opt.images[i].c_str(), results[i].text.c_str(), i + 1 < results.size() ? "\n" : "");
        if (verbose) janus_cli::print_understand_stats(results[i]);
    }
    return 0;
}

const bool registered = janus_cli::register_command(
    "caption", "Describe images (Janus understanding; several images are captioned as one batch)", [](CLI::App& app) {
        auto opt = std::make_shared<Options>();
        janus_cli::add_understand_flags(app, opt->flags);
        app.add_option("--question", opt->question, "The instruction (default: \"Describe this image in detail.\")");
        app.add_option("images", opt->images, "Image files (PNG, JPEG, BMP, WebP, TIFF)")->required();
        return [opt, &app] { return run(app, *opt); };
    });

}  // namespace
