// Images in janus::ChatSession on the tiny Janus checkpoints (official .bin and transformers
// safetensors layouts) against the PyTorch understanding goldens of
// scripts/reference/make_vision_fixtures.py (tests/data/golden/tiny-janus, f32 mode):
// - one and two images attached to the first user message give the reference's prompt length
//   (understand_{one,two}_input_ids.npy, images expanded) and its 24 greedy tokens exactly
//   (f32_understand_*_tokens.npy; smallest top-2 margin 0.029 vs f32 error ~1e-6), the same tokens
//   janus::Understander produces for that prompt;
// - with the default vocabulary limit, ids past the tokenizer are never chosen and the reply agrees
//   with the golden up to the first such id;
// - a second turn (text, or a new image) reuses the cached image prefix and replies exactly as a
//   fresh session that re-encodes the whole saved conversation (cache keyed by image, not by id);
// - errors: a text-only checkpoint, a missing or corrupt image file, marker/image count mismatch.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "janus/chat.h"
#include "janus/understand.h"
#include "janus/vision.h"

using namespace janus;

namespace {

std::string data(const std::string& rel) { return std::string(JANUS_TEST_DATA) + "/" + rel; }
std::string golden(const std::string& f) { return data("golden/tiny-janus/" + f); }
std::string image(int i) {
    const char* names[] = {"img0_100x60_rgb.png", "img1_45x70_rgba.png", "img2_64x64_rgb.png"};
    return golden(std::string("images/") + names[i]);
}
std::string tmpfile(const std::string& name) {
    auto d = std::filesystem::temp_directory_path() / ("janus_chat_images_" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return (d / name).string();
}
std::vector<int32_t> golden_tokens(const std::string& key) {
    std::vector<int64_t> t = read_npy(golden("f32_understand_" + key + "_tokens.npy")).to_i64();
    return std::vector<int32_t>(t.begin(), t.end());
}

ChatOptions options(const std::string& model, bool full_vocab = true) {
    ChatOptions o;
    o.model = data("models/" + model);
    o.device = "cpu";
    o.dtype = "f32";
    o.max_tokens = 24;
    o.full_vocab = full_vocab;
    return o;
}

const char* kQuestion = "Describe this image.";  // the goldens' question (manifest.json)

class ChatImages : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST_P(ChatImages, FirstTurnMatchesGoldenAndUnderstander) {
    for (int n : {1, 2}) {
        const std::string key = n == 1 ? "one" : "two";
        auto chat = ChatSession::open(options(GetParam()));
        EXPECT_TRUE(chat->has_image_encoder());
        for (int i = 0; i < n; ++i) chat->attach_image(image(i));
        EXPECT_EQ(chat->pending_images(), size_t(n));
        ReplyStats st;
        std::string streamed;
        std::string reply = chat->send(kQuestion, [&](const std::string& s) { streamed += s; }, {}, &st);
        EXPECT_EQ(chat->pending_images(), 0u);
        EXPECT_EQ(reply, streamed);
        EXPECT_EQ(st.prompt_tokens, read_npy(golden("understand_" + key + "_input_ids.npy")).shape.at(0)) << key;
        EXPECT_EQ(st.images, n);
        EXPECT_EQ(st.image_tokens, 16 * n);
        EXPECT_EQ(st.cached_tokens, 0);
        EXPECT_EQ(st.tokens, golden_tokens(key)) << key;
        // The user message holds one marker per image in front of the question (facts §3.4).
        std::string want_content;
        for (int i = 0; i < n; ++i) want_content += "<image_placeholder>\n";
        EXPECT_EQ(chat->messages().at(0).content, want_content + kQuestion);

        UnderstandOptions uo;
        uo.model = data(std::string("models/") + GetParam());
        uo.device = "cpu";
        uo.dtype = "f32";
        uo.max_new_tokens = 24;
        auto u = Understander::open(uo);
        std::vector<RgbImage> imgs;
        for (int i = 0; i < n; ++i) imgs.push_back(read_image(image(i)));
        UnderstandResult r = u->ask(imgs, kQuestion);
        EXPECT_EQ(st.tokens, r.tokens) << key;
        EXPECT_EQ(reply, r.text) << key;
    }
}

TEST_P(ChatImages, DefaultVocabLimitAgreesUpToTheFirstIdPastTheTokenizer) {
    auto chat = ChatSession::open(options(GetParam(), /*full_vocab=*/false));
    chat->attach_image(image(0));
    ReplyStats st;
    chat->send(kQuestion, {}, {}, &st);
    std::vector<int32_t> want = golden_tokens("one");
    const int32_t limit = 270;  // tiny-janus tokenizer: 256 bytes + 14 added tokens; embeddings 288
    size_t agree = 0;
    while (agree < want.size() && want[agree] < limit) ++agree;
    ASSERT_LT(agree, want.size()) << "the golden has no id past the tokenizer; this test would not test anything";
    ASSERT_GE(st.tokens.size(), agree);
    EXPECT_EQ(std::vector<int32_t>(st.tokens.begin(), st.tokens.begin() + long(agree)),
              std::vector<int32_t>(want.begin(), want.begin() + long(agree)));
    for (int32_t t : st.tokens) EXPECT_LT(t, limit);
}

TEST_P(ChatImages, LaterTurnsReuseTheImagePrefixAndMatchAFreshSession) {
    const std::string after1 = tmpfile(std::string(GetParam()) + "_turn1.json");
    const std::string after2 = tmpfile(std::string(GetParam()) + "_turn2.json");
    auto a = ChatSession::open(options(GetParam()));
    a->attach_image(image(0));
    ReplyStats s1, s2, s3;
    a->send(kQuestion, {}, {}, &s1);
    a->save(after1);
    std::string r2 = a->send("Tell me more.", {}, {}, &s2);  // text-only second turn
    EXPECT_GE(s2.cached_tokens, s1.prompt_tokens);         // the image positions were not recomputed
    EXPECT_EQ(s2.vision_seconds, 0.0);
    EXPECT_EQ(s2.images, 1);
    a->save(after2);
    a->attach_image(image(1));                              // a new image in the third turn
    std::string r3 = a->send("And this one?", {}, {}, &s3);
    EXPECT_GE(s3.cached_tokens, s2.prompt_tokens);
    EXPECT_EQ(s3.images, 2);
    EXPECT_EQ(s3.image_tokens, 32);
    EXPECT_GT(s3.vision_seconds, 0.0);
    ASSERT_EQ(a->messages().size(), 6u);
    EXPECT_EQ(a->messages().at(4).content, "<image_placeholder>\nAnd this one?");

    // Fresh sessions loading the saved conversation re-read and re-encode every image and prefill
    // from position 0; their replies must be identical to the cached session's.
    ReplyStats f2, f3;
    auto b = ChatSession::open(options(GetParam()));
    b->load(after1);
    EXPECT_EQ(b->send("Tell me more.", {}, {}, &f2), r2);
    EXPECT_EQ(f2.cached_tokens, 0);
    EXPECT_EQ(f2.prompt_tokens, s2.prompt_tokens);
    EXPECT_EQ(f2.tokens, s2.tokens);
    auto c = ChatSession::open(options(GetParam()));
    c->load(after2);
    c->attach_image(image(1));
    EXPECT_EQ(c->send("And this one?", {}, {}, &f3), r3);
    EXPECT_EQ(f3.cached_tokens, 0);
    EXPECT_EQ(f3.tokens, s3.tokens);

    // The same conversation text with a different image must not reuse the other image's K/V: load
    // keeps the KV cache (only matching keys are reused), so loading turn 1 with image 2 in place of
    // image 0 reuses the system prompt but recomputes from the image on, and then answers exactly
    // like a fresh session.
    std::string text;
    {
        std::ifstream f(after1);
        text.assign(std::istreambuf_iterator<char>(f), {});
    }
    const std::string from = image(0), to = image(2);
    ASSERT_NE(text.find(from), std::string::npos);
    text.replace(text.find(from), from.size(), to);
    const std::string swapped = tmpfile(std::string(GetParam()) + "_swapped.json");
    std::ofstream(swapped) << text;
    a->load(swapped);
    ReplyStats r_a, r_d;
    a->send("Tell me more.", {}, {}, &r_a);
    EXPECT_GT(r_a.cached_tokens, 0);
    EXPECT_LT(r_a.cached_tokens, s1.prompt_tokens - 16);
    auto d = ChatSession::open(options(GetParam()));
    d->load(swapped);
    d->send("Tell me more.", {}, {}, &r_d);
    EXPECT_EQ(r_a.tokens, r_d.tokens);
    EXPECT_EQ(r_d.cached_tokens, 0);
}

TEST(ChatImagesErrors, TextOnlyModelAndBadFiles) {
    // tiny-llama (LlamaForCausalLM, vocab 384) with the tiny Janus byte-level tokenizer next to it.
    const std::string llama_dir = tmpfile("tiny-llama-with-tokenizer");
    std::filesystem::create_directories(llama_dir);
    for (const char* f : {"config.json", "model.safetensors"})
        std::filesystem::copy_file(data(std::string("models/tiny-llama/f32/") + f), llama_dir + "/" + f,
                                   std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(data("models/tiny-janus/tokenizer.json"), llama_dir + "/tokenizer.json",
                               std::filesystem::copy_options::overwrite_existing);
    ChatOptions lo = options("tiny-janus");
    lo.model = llama_dir;
    auto llama = ChatSession::open(lo);
    EXPECT_FALSE(llama->has_image_encoder());
    try {
        llama->attach_image(image(0));
        FAIL() << "expected janus::Error";
    } catch (const Error& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("has no image encoder; --image needs a Janus checkpoint"), std::string::npos) << m;
        EXPECT_NE(m.find(llama_dir), std::string::npos) << m;
    }

    auto chat = ChatSession::open(options("tiny-janus"));
    const std::string missing = tmpfile("no_such_image.png");
    try {
        chat->attach_image(missing);
        FAIL() << "expected janus::Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    }
    const std::string corrupt = tmpfile("corrupt.png");
    {
        std::ofstream f(corrupt, std::ios::binary);
        f << "\x89PNG\r\n\x1a\n this is not a png";
    }
    try {
        chat->attach_image(corrupt);
        FAIL() << "expected janus::Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(corrupt), std::string::npos) << e.what();
    }
    EXPECT_EQ(chat->pending_images(), 0u);

    // Two markers for one image: refused, the conversation and the attached image are kept.
    chat->attach_image(image(0));
    EXPECT_THROW(chat->send("<image_placeholder>\n<image_placeholder>\nx", {}), Error);
    EXPECT_EQ(chat->messages().size(), 0u);
    EXPECT_EQ(chat->pending_images(), 1u);
    ReplyStats st;
    chat->send(kQuestion, {}, {}, &st);
    EXPECT_EQ(st.tokens, golden_tokens("one"));
}

INSTANTIATE_TEST_SUITE_P(Tiny, ChatImages, ::testing::Values("tiny-janus", "tiny-janus-hf"),
                         [](const auto& info) { return std::string(info.param) == "tiny-janus" ? "official" : "hf"; });
