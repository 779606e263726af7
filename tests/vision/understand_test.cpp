// Understanding pipeline on the tiny Janus checkpoints against the PyTorch reference goldens
// (scripts/reference/make_vision_fixtures.py, f32 mode: f32 compute on the bf16 weights, exact RoPE).
// Compared through the --dump files the pipeline writes:
//   input_ids: exact (SFT template + default system prompt + BOI/N×image/EOI expansion)
//   inputs_embeds, first_logits, step_logits: max|Δ| / max|golden| ≤ 1e-4
//   tokens: exact (greedy; the golden's smallest top-2 margin is 0.029, far above the f32 error)
// Also: a batch of rows gives each row the tokens it gets alone, and the public API's errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "tests/common/tolerance.h"
#include "janus/understand.h"
#include "janus/vision.h"
#include "pipelines/understand.h"

using namespace janus;

namespace {

std::string data(const std::string& rel) { return std::string(JANUS_TEST_DATA) + "/" + rel; }
std::string golden(const std::string& f) { return data("golden/tiny-janus/" + f); }

using janus::testing::max_rel_error;  // tests/common/tolerance.h

std::string tmpdir(const std::string& name) {
    auto d = std::filesystem::temp_directory_path() / ("janus_understand_" + std::to_string(getpid())) / name;
    std::filesystem::create_directories(d);
    return d.string();
}

RgbImage img(int i) {
    const char* names[] = {"img0_100x60_rgb.png", "img1_45x70_rgba.png"};
    return read_image(golden(std::string("images/") + names[i]));
}

struct Case {
    const char* model;
    const char* key;  // "one" | "two"
};

class Golden : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(Golden, MatchesReference) {
    const Case c = GetParam();
    UnderstandOptions o;
    o.model = data(std::string("models/") + c.model);
    o.device = "cpu";
    o.dtype = "f32";
    o.max_new_tokens = 24;
    o.dump_dir = tmpdir(std::string(c.model) + "_" + c.key);
    auto u = Understander::open(o);
    EXPECT_EQ(u->image_tokens(), 16);
    std::vector<RgbImage> images = {img(0)};
    if (std::string(c.key) == "two") images.push_back(img(1));
    UnderstandResult r = u->ask(images, "Describe this image.");
    auto dump = [&](const std::string& f) { return read_npy(o.dump_dir + "/" + f); };
    std::string k = c.key;
    EXPECT_EQ(dump("input_ids.npy").to_i64(), read_npy(golden("understand_" + k + "_input_ids.npy")).to_i64());
    EXPECT_LE(max_rel_error(dump("inputs_embeds.npy").to_f32(), read_npy(golden("f32_understand_" + k + "_inputs_embeds.npy")).to_f32()), 1e-4);
    EXPECT_LE(max_rel_error(dump("first_logits.npy").to_f32(), read_npy(golden("f32_understand_" + k + "_first_logits.npy")).to_f32()), 1e-4);
    std::vector<int64_t> want = read_npy(golden("f32_understand_" + k + "_tokens.npy")).to_i64();
    std::vector<int64_t> got = dump("tokens.npy").to_i64();
    EXPECT_EQ(got, want);
    std::vector<float> ws = read_npy(golden("f32_understand_" + k + "_step_logits.npy")).to_f32();
    std::vector<float> gs = dump("step_logits.npy").to_f32();
    EXPECT_LE(max_rel_error(gs, ws), 1e-4);
    EXPECT_EQ(dump("pixel_values.npy").shape, (std::vector<int64_t>{int64_t(images.size()), 3, 64, 64}));
    EXPECT_EQ(dump("siglip_features.npy").shape, (std::vector<int64_t>{int64_t(images.size()), 16, 64}));
    EXPECT_EQ(r.prompt_tokens, int64_t(dump("input_ids.npy").numel()));
}

INSTANTIATE_TEST_SUITE_P(Tiny, Golden,
                         ::testing::Values(Case{"tiny-janus", "one"}, Case{"tiny-janus", "two"},
                                           Case{"tiny-janus-hf", "one"}, Case{"tiny-janus-hf", "two"}),
                         [](const auto& info) {
                             return std::string(info.param.model == std::string("tiny-janus") ? "official_" : "hf_") +
                                    info.param.key;
                         });

TEST(Understand, BatchRowsMatchSingleRows) {
    UnderstandOptions o;
    o.model = data("models/tiny-janus");
    o.device = "cpu";
    o.dtype = "f32";
    o.max_new_tokens = 24;
    auto u = Understander::open(o);
    auto rows = u->ask_batch({{img(0)}, {img(0), img(1)}, {img(1)}}, "Describe this image.");
    ASSERT_EQ(rows.size(), 3u);
    std::vector<int64_t> one = read_npy(golden("f32_understand_one_tokens.npy")).to_i64();
    std::vector<int64_t> two = read_npy(golden("f32_understand_two_tokens.npy")).to_i64();
    EXPECT_EQ(std::vector<int64_t>(rows[0].tokens.begin(), rows[0].tokens.end()), one);
    EXPECT_EQ(std::vector<int64_t>(rows[1].tokens.begin(), rows[1].tokens.end()), two);
    UnderstandResult alone = u->ask({img(1)}, "Describe this image.");
    EXPECT_EQ(rows[2].tokens, alone.tokens);
    EXPECT_EQ(rows[2].text, alone.text);
    // More rows than one group (8): rows 8 and 9 run in a second group with the same answers.
    std::vector<std::vector<RgbImage>> many;
    for (int i = 0; i < 10; ++i) many.push_back({img(i % 2)});
    auto m = u->ask_batch(many, "Describe this image.");
    ASSERT_EQ(m.size(), 10u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(m[size_t(i)].tokens, i % 2 ? alone.tokens : rows[0].tokens) << "row " << i;
}

// Janus-1.3B's original tokenizer lacks <image_placeholder> (facts §3.3): a copy of tiny-janus whose
// tokenizer spells it differently must give the same logits and tokens (only the placeholder id in
// input_ids changes, to the tokenizer length).
TEST(Understand, TokenizerWithoutPlaceholder) {
    namespace fs = std::filesystem;
    fs::path dir = tmpdir("no_placeholder_model");
    for (const auto& e : fs::directory_iterator(data("models/tiny-janus"))) {
        fs::path dst = dir / e.path().filename();
        fs::remove(dst);
        if (e.path().filename() == "tokenizer.json") {
            std::ifstream in(e.path());
            std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            for (size_t i = s.find("<image_placeholder>"); i != std::string::npos; i = s.find("<image_placeholder>", i))
                s.replace(i, 19, "<image_placeholder_renamed>");
            std::ofstream(dst) << s;
        } else if (e.path().filename() != "special_tokens_map.json" && e.path().filename() != "processor_config.json") {
            fs::create_symlink(e.path(), dst);
        }
    }
    UnderstandOptions o;
    o.model = dir.string();
    o.device = "cpu";
    o.dtype = "f32";
    o.max_new_tokens = 24;
    o.dump_dir = tmpdir("no_placeholder_dump");
    auto u = Understander::open(o);
    UnderstandResult r = u->ask({img(0), img(1)}, "Describe this image.");
    std::vector<int64_t> want = read_npy(golden("f32_understand_two_tokens.npy")).to_i64();
    EXPECT_EQ(std::vector<int64_t>(r.tokens.begin(), r.tokens.end()), want);
    EXPECT_LE(max_rel_error(read_npy(o.dump_dir + "/first_logits.npy").to_f32(),
                      read_npy(golden("f32_understand_two_first_logits.npy")).to_f32()), 1e-4);
    std::vector<int64_t> ids = read_npy(o.dump_dir + "/input_ids.npy").to_i64();
    std::vector<int64_t> gids = read_npy(golden("understand_two_input_ids.npy")).to_i64();
    ASSERT_EQ(ids.size(), gids.size());
    int64_t added = -1;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (gids[i] != 261) {  // 261: the golden's <image_placeholder> id
            EXPECT_EQ(ids[i], gids[i]) << i;
        } else {
            if (added < 0) added = ids[i];
            EXPECT_EQ(ids[i], added) << i;
        }
    }
    EXPECT_NE(added, 261);
    EXPECT_GT(added, 0);
    EXPECT_LT(added, 288);  // a row of the embedding table
}

TEST(Understand, PromptHelpers) {
    EXPECT_EQ(understand_user_content("Q?", 2), "<image_placeholder>\n<image_placeholder>\nQ?");
    EXPECT_EQ(understand_user_content("a <image_placeholder> b", 1), "a <image_placeholder> b");
    EXPECT_THROW(understand_user_content("<image_placeholder>", 2), Error);
    EXPECT_EQ(expand_image_tokens({1, 9, 2}, 9, 7, 8, 3), (std::vector<int32_t>{1, 7, 9, 9, 9, 8, 2}));
}

TEST(Understand, Errors) {
    UnderstandOptions o;
    o.model = data("models/tiny-llama");
    o.device = "cpu";
    EXPECT_THROW(Understander::open(o), Error);  // a text-only model
    o.model = data("models/does-not-exist");
    EXPECT_THROW(Understander::open(o), Error);
}
