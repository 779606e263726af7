// Determinism and batching invariants of text-to-image on tests/data/models/tiny-janus (f32):
//  - image k of a request equals a single-image request seeded with image_seed(seed, k) (codes and
//    pixels), with sampling on (temperature 1, top-k, top-p);
//  - the same seed and flags give the same PNG bytes with 1 and 2 CPU threads;
//  - a memory limit that forces one image per pass gives the same images as one pass;
//  - the memory plan against independent arithmetic (facts §5.6) for the real 1B / 7B shapes;
//  - step-wise API: cancel, request bookkeeping; output path rules of `janus generate -o`.
#include "gen_test_util.h"
#include "kernels/backend.h"

using namespace janus;
using namespace gen_test;

namespace {

ImageRequest sampled(int n, uint64_t seed) {
    ImageRequest r;
    r.prompt = "a red circle on a blue background";
    r.n = n;
    r.seed = seed;
    r.temperature = 1.0f;
    return r;
}

TEST(GenerateDeterminism, SubSeeds) {
    EXPECT_EQ(image_seed(42, 0), 42u);
    std::set<uint64_t> s;
    for (int k = 0; k < 100; ++k) s.insert(image_seed(42, k));
    EXPECT_EQ(s.size(), 100u);
    EXPECT_NE(image_seed(1, 1), image_seed(2, 1));
}

TEST(GenerateDeterminism, ImageKOfBatchEqualsSingleRunWithItsSeed) {
    auto g = open_tiny("f32");
    for (int variant = 0; variant < 2; ++variant) {
        ImageRequest r = sampled(3, 1234);
        if (variant == 1) {
            r.top_k = 40;
            r.top_p = 0.9f;
            r.temperature = 0.8f;
        }
        GenerateResult batch = g->generate(r);
        ASSERT_EQ(batch.images.size(), 3u);
        for (int k = 0; k < 3; ++k) {
            ImageRequest one = r;
            one.n = 1;
            one.seed = image_seed(r.seed, k);
            GenerateResult single = g->generate(one);
            ASSERT_EQ(single.images.size(), 1u);
            EXPECT_EQ(batch.images[size_t(k)].seed, one.seed);
            EXPECT_EQ(batch.images[size_t(k)].codes, single.images[0].codes) << "variant " << variant << " image " << k;
            EXPECT_EQ(batch.images[size_t(k)].image.pixels, single.images[0].image.pixels);
        }
        // sampling is really on: the images differ from each other
        EXPECT_NE(batch.images[0].codes, batch.images[1].codes);
    }
}

class ThreadCounts : public ::testing::TestWithParam<std::string> {};

TEST_P(ThreadCounts, SamePngBytesForAnyThreadCount) {
    TempDir dir("threads");
    std::vector<std::string> files;
    for (int threads : {1, 2}) {
        auto g = open_tiny(GetParam(), threads);
        ImageRequest r = sampled(2, 99);
        r.negative_prompt = "blurry, low quality";
        GenerateResult res = g->generate(r);
        for (const auto& im : res.images) {
            std::string p = dir / ("t" + std::to_string(threads) + "-" + std::to_string(im.index) + ".png");
            write_png_atomic(p, im.image, image_text_chunks(r, im, g->model_name()));
            files.push_back(p);
        }
    }
    set_cpu_threads(0);
    ASSERT_EQ(files.size(), 4u);
    EXPECT_EQ(slurp(files[0]), slurp(files[2]));
    EXPECT_EQ(slurp(files[1]), slurp(files[3]));
    EXPECT_GT(slurp(files[0]).size(), 100u);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, ThreadCounts, ::testing::Values("f32", "bf16"));

TEST(GenerateMemory, SplitIntoPassesGivesTheSameImages) {
    auto g = open_tiny("f32");
    ImageRequest r = sampled(3, 5);
    GenerateResult whole = g->generate(r);
    EXPECT_EQ(whole.passes, 1);
    ImageRequest one = r;
    one.n = 1;
    MemoryPlan p1 = g->plan(one);
    ImageGenOptions o;
    o.model = model_dir();
    o.device = "cpu";
    o.dtype = "f32";
    o.memory_limit = p1.total_bytes + 1;  // room for exactly one image at a time
    auto small = ImageGenerator::open(o);
    MemoryPlan p3 = small->plan(r);
    EXPECT_EQ(p3.images_per_step, 1);
    EXPECT_EQ(p3.passes, 3);
    EXPECT_EQ(p3.kv_bytes_unsplit, 3 * p3.kv_bytes);
    GenerateResult split = small->generate(r);
    EXPECT_EQ(split.passes, 3);
    ASSERT_EQ(split.images.size(), 3u);
    for (int k = 0; k < 3; ++k) EXPECT_EQ(split.images[size_t(k)].image.pixels, whole.images[size_t(k)].image.pixels);
}

// facts §5.6: KV per token per row (bf16) 7B = 30·2·4096·2 B = 480 KiB, 1B = 24·2·2048·2 B = 192 KiB;
// P = 16 (32 rows) × 616 tokens: 7B ≈ 9.0 GiB, 1B ≈ 3.6 GiB.
TEST(GenerateMemory, PlanMatchesFactsArithmetic) {
    const int64_t GiB = int64_t(1) << 30;
    // a 24 GiB machine: the detected limit is 0.92 × physical memory ≈ 22 GiB
    MemoryPlan p7 = plan_synthetic("janus-pro-7b", 16, 40, "bf16", 22 * GiB);
    EXPECT_EQ(p7.kv_bytes_per_token, 480 * 1024);
    EXPECT_EQ(p7.image_tokens, 576);
    EXPECT_EQ(p7.kv_bytes_unsplit, 32LL * 616 * 480 * 1024);
    EXPECT_NEAR(double(p7.kv_bytes_unsplit) / double(GiB), 9.02, 0.01);
    EXPECT_GT(p7.weight_bytes, int64_t(13.8e9));  // LM alone is 6.91 B params in bf16 (facts §2.5)
    EXPECT_LT(p7.weight_bytes, int64_t(14.84e9)); // less than the whole checkpoint (no SigLIP/encoder)
    EXPECT_GT(p7.passes, 1) << "7B with 16 images does not fit 22 GiB in one pass";
    EXPECT_LE(p7.total_bytes, 22 * GiB);
    EXPECT_EQ(p7.kv_bytes, int64_t(p7.images_per_step) * 2 * 616 * 480 * 1024);
    MemoryPlan p1 = plan_synthetic("janus-pro-1b", 16, 40, "bf16", 24 * GiB);
    EXPECT_EQ(p1.kv_bytes_per_token, 192 * 1024);
    EXPECT_NEAR(double(p1.kv_bytes_unsplit) / double(GiB), 3.61, 0.01);
    EXPECT_EQ(p1.passes, 1);
    // VQ decode of one image: three [128, 384, 384] f32 buffers dominate (facts §5.6: 36 MiB per bf16 copy)
    EXPECT_GE(p1.vq_bytes, 3LL * 128 * 384 * 384 * 4);
    EXPECT_LT(p1.vq_bytes, 400LL << 20);
}

TEST(GenerateStepwise, CancelAndBookkeeping) {
    auto g = open_tiny("f32");
    ImageRequest a = sampled(2, 1), b = sampled(1, 2);
    const int ha = g->submit(a);
    const int hb = g->submit(b);
    EXPECT_FALSE(g->request_done(ha));
    g->step();
    EXPECT_EQ(g->in_flight(), 3);
    g->cancel(ha);
    EXPECT_EQ(g->in_flight(), 1);
    std::vector<GeneratedImage> got;
    while (!g->idle()) {
        g->step();
        for (auto& im : g->take_finished()) got.push_back(std::move(im));
    }
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].request, hb);
    EXPECT_TRUE(g->request_done(hb));
    EXPECT_EQ(got[0].codes, g->generate(b).images[0].codes) << "an image is independent of its batch-mates";
    ImageRequest bad = sampled(1, 1);
    bad.prompt = "   ";
    EXPECT_THROW(g->submit(bad), Error);
    bad = sampled(1, 1);
    bad.top_p = 0;
    EXPECT_THROW(g->submit(bad), Error);
}

TEST(GenerateOutput, PathsAndTextChunks) {
    EXPECT_EQ(output_image_path("out.png", 7, 0, 1), "out.png");
    EXPECT_EQ(output_image_path("a/out.png", 7, 2, 4), "a/out-2.png");
    EXPECT_EQ(output_image_path("dir", 7, 3, 4), "dir/janus-7-3.png");
    EXPECT_EQ(output_sheet_path("dir", 7), "dir/janus-7-sheet.png");
    auto g = open_tiny("f32");
    ImageRequest r = sampled(2, 11);
    r.negative_prompt = "ugly";
    GenerateResult res = g->generate(r);
    TempDir dir("png");
    std::string p = dir / "x.png";
    write_png_atomic(p, res.images[1].image, image_text_chunks(r, res.images[1], g->model_name()));
    TextChunks t = read_png_text(p);
    auto get = [&](const std::string& k) {
        for (auto& [kk, v] : t)
            if (kk == k) return v;
        return std::string("<missing>");
    };
    EXPECT_EQ(get("prompt"), r.prompt);
    EXPECT_EQ(get("negative_prompt"), "ugly");
    EXPECT_EQ(get("seed"), std::to_string(image_seed(11, 1)));
    EXPECT_EQ(get("cfg"), "5");
    EXPECT_EQ(get("temperature"), "1");
    EXPECT_EQ(get("model"), "tiny-janus");
    EXPECT_NE(get("version"), "<missing>");
    RgbImage read = read_image(p);
    EXPECT_EQ(read.pixels, res.images[1].image.pixels);
    RgbImage sheet = contact_sheet({res.images[0].image, res.images[1].image});
    EXPECT_EQ(sheet.width, 2 * 64 + 3 * 4);
    EXPECT_EQ(sheet.height, 64 + 2 * 4);
    int n_tmp = 0;
    for (auto& e : std::filesystem::directory_iterator(dir.path)) n_tmp += e.path().string().find(".tmp-") != std::string::npos;
    EXPECT_EQ(n_tmp, 0);
}

}  // namespace
