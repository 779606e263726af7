// Does janus-shapes do what it is for? (issue 8, "Tests that mean something"; target ≥ 90 %.)
//   Classifier: the analyser of shapes_util.h recognises background, foreground colour and shape of
//               pictures drawn here (30 cases at 64 and at 128 px) — all of them; otherwise the checks
//               below mean nothing.
//   TextToImage: 30 prompts "a {colour} {shape} on a {bg} background" (every shape × colour, bg
//               chosen per case), sampled at the reference defaults (T = 1, CFG w = 5, no top-k/p) with
//               seed 1000 + i; an image counts when background, foreground colour and shape all agree.
//   Captions:   30 pictures freshly drawn here (every shape × colour, random bg/size/position and
//               colour jitter from a fixed splitmix64 seed; not from the training set), greedy captions;
//               a caption counts when it names the right colour and shape.
// Each prints its measured rate; each must reach the target on the committed checkpoint.
#include <gtest/gtest.h>

#include <cstdio>

#include "janus/generate.h"
#include "janus/understand.h"
#include "shapes_util.h"

using namespace shapes_test;

namespace {

constexpr double kTarget = 0.90;

struct DrawnCase {
    std::string shape, color, bg;
    janus::RgbImage image;
};

// Every shape × colour, other fields random; size/position/jitter ranges as in the model card
// (scripts/shapes/shapes_data.py: SIZES, POSITIONS, POS_JITTER / SIZE_JITTER / COLOR_JITTER).
std::vector<DrawnCase> drawn_cases(int size, uint64_t seed) {
    const double sizes[3] = {0.36, 0.50, 0.70};
    const double pos[5][2] = {{0.5, 0.5}, {0.28, 0.28}, {0.72, 0.28}, {0.28, 0.72}, {0.72, 0.72}};
    Rng rng{seed};
    std::vector<DrawnCase> out;
    for (size_t s = 0; s < kShapes.size(); ++s)
        for (size_t c = 0; c < kColors.size(); ++c) {
            int b = int(c);
            while (b == int(c)) b = rng.below(6);
            int si = rng.below(3), pi = si == 2 ? 0 : rng.below(5);
            std::array<int, 3> fg = kRgb[c], bg = kRgb[b];
            for (int k = 0; k < 3; ++k) {
                fg[k] = std::clamp(fg[k] + rng.below(13) - 6, 0, 255);
                bg[k] = std::clamp(bg[k] + rng.below(13) - 6, 0, 255);
            }
            double cx = (pos[pi][0] + rng.uniform(-0.02, 0.02)) * size, cy = (pos[pi][1] + rng.uniform(-0.02, 0.02)) * size;
            double d = sizes[si] * rng.uniform(0.96, 1.04) * size;
            out.push_back({kShapes[s], kColors[c], kColors[b], draw(kShapes[s], fg, bg, cx, cy, d, size)});
        }
    return out;
}

std::string model() { return model_dir(manifest("t2i.json")); }

}  // namespace

TEST(ShapesQuality, ClassifierOnDrawnImages) {
    int ok = 0, n = 0;
    for (int size : {64, 128})  // the first checkpoints' picture size and the current one
        for (const DrawnCase& c : drawn_cases(size, 7)) {
            Analysis a = analyse(c.image);
            bool right = a.bg == c.bg && a.fg == c.color && a.shape == c.shape;
            ok += right, ++n;
            EXPECT_TRUE(right) << size << " px: " << c.color << " " << c.shape << " on " << c.bg << ": " << a.str();
        }
    std::printf("classifier on drawn images: %d / %d\n", ok, n);
}

// Fifth checkpoint (2026-11-29, train_all.sh: the ~1 h bf16 recipe — canonical targets, prompt defaults,
// guided-logit loss from the start, star-weighted decoder): all three right 29 / 30 = 97 % (background 30,
// foreground colour 29, shape 30: one black star read as blue); MODEL_CARD.md: 94 % of 150 sampled. The
// fourth checkpoint (4 h recipe) got 29 / 30, the third 6 / 30, the second (64 px) 4 / 30.
TEST(ShapesQuality, TextToImage) {
    janus::ImageGenOptions o;
    o.model = model();
    o.device = "cpu";
    o.threads = 2;
    auto g = janus::ImageGenerator::open(o);
    int ok = 0, bg_ok = 0, fg_ok = 0, shape_ok = 0, n = 0;
    for (size_t s = 0; s < kShapes.size(); ++s)
        for (size_t c = 0; c < kColors.size(); ++c) {
            const std::string bg = kColors[(c + 1 + s) % kColors.size()];  // != colour since 1 + s ∈ [1, 5]
            janus::ImageRequest r;
            r.prompt = "a " + kColors[c] + " " + kShapes[s] + " on a " + bg + " background";
            r.seed = 1000 + n;  // reference defaults: cfg 5, temperature 1, no top-k/top-p
            janus::GenerateResult res = g->generate(r);
            Analysis a = analyse(res.images.at(0).image);
            bool b = a.bg == bg, f = a.fg == kColors[c], sh = a.shape == kShapes[s];
            bg_ok += b, fg_ok += f, shape_ok += sh, ok += b && f && sh, ++n;
            std::printf("  %-45s seed %4llu -> %s%s\n", r.prompt.c_str(), (unsigned long long)r.seed, a.str().c_str(),
                        b && f && sh ? "" : "   (wrong)");
        }
    std::printf("text -> image: all right %d / %d = %.0f %% (background %d, foreground colour %d, shape %d)\n", ok, n,
                100.0 * ok / n, bg_ok, fg_ok, shape_ok);
    EXPECT_GE(double(ok) / n, kTarget);
}

// Fifth checkpoint (2026-11-29): colour and shape right 29 / 30 (a small yellow triangle in a corner called
// a star). The fourth got 30 / 30, the third 28 / 30 (two squares called circles), the second (64 px)
// 30 / 30, the first 7 / 30.
TEST(ShapesQuality, Captions) {
    janus::UnderstandOptions o;
    o.model = model();
    o.device = "cpu";
    o.threads = 2;
    o.max_new_tokens = 24;
    o.sampling.temperature = 0.0f;
    auto u = janus::Understander::open(o);
    std::vector<DrawnCase> cases = drawn_cases(u->image_size(), 2026);
    std::vector<std::vector<janus::RgbImage>> rows;
    for (const auto& c : cases) rows.push_back({c.image});
    auto res = u->ask_batch(rows, janus::default_caption_question());
    int ok = 0, color_ok = 0, shape_ok = 0, n = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
        CaptionWords w = parse_caption(res[i].text);
        bool c = w.color == cases[i].color, s = w.shape == cases[i].shape;
        color_ok += c, shape_ok += s, ok += c && s, ++n;
        std::printf("  drawn %s %s on %s -> \"%s\"%s\n", cases[i].color.c_str(), cases[i].shape.c_str(),
                    cases[i].bg.c_str(), res[i].text.c_str(), c && s ? "" : "   (wrong)");
    }
    std::printf("captions: colour and shape right %d / %d = %.0f %% (colour %d, shape %d)\n", ok, n, 100.0 * ok / n,
                color_ok, shape_ok);
    EXPECT_GE(double(ok) / n, kTarget);
}
