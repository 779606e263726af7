// `janus ask -m MODEL -i IMAGE [-i IMAGE ...] "question"`: answer a question about one or more images
// with a Janus checkpoint, streaming the answer to stdout. Logic: pipelines/understand.cpp.
#include <cstdio>

#include "command.h"
#include "janus/understand.h"
#include "janus/vision.h"
#include "understand_flags.h"

namespace {

struct Options {
    janus_cli::UnderstandFlags flags;
    std::vector<std::string> images;
    std::string question;
};

int run(const CLI::App& app, Options& opt) {
    janus::UnderstandOptions o = janus_cli::finish_understand_flags(app, opt.flags);
    std::vector<janus::RgbImage> images;
    for (const auto& p : opt.images) images.push_back(janus::read_image(p));
    auto u = janus::Understander::open(o);
    if (janus_cli::global_options().verbose) std::fprintf(stderr, "janus: %s\n", u->description().c_str());
    janus::UnderstandResult r = u->ask(images, opt.question, [](const std::string& piece) {
        std::fputs(piece.c_str(), stdout);
        std::fflush(stdout);
    });
    std::fputs("\n", stdout);
    if (janus_cli::global_options().verbose) janus_cli::print_understand_stats(r);
    return 0;
}

const bool registered = janus_cli::register_command(
    "ask", "Answer a question about one or more images (Janus understanding)", [](CLI::App& app) {
        auto opt = std::make_shared<Options>();
        janus_cli::add_understand_flags(app, opt->flags);
        app.add_option("-i,--image", opt->images, "Image file (PNG, JPEG, BMP, WebP, TIFF); repeat for several")
            ->required()
            ->allow_extra_args(false);
        app.add_option("question", opt->question, "The question")->required();
        return [opt, &app] { return run(app, *opt); };
    });

}  // namespace
