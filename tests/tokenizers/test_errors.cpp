// Bad input: malformed JSON, missing fields, unknown component types, merges naming unknown tokens,
// regexes that do not compile, unreadable paths — each must raise janus::Error whose message names
// the JSON path (or file) of the problem. Invalid UTF-8 text must encode without crashing, as the
// reference does: byte-level tokenizers keep the raw bytes, others see U+FFFD.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <cstdlib>
#include <fstream>
#include <random>

#include "tok_test_util.h"

using nlohmann::json;

namespace {

json base() {
    return json{{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}}, {"merges", {"a b"}}}}};
}

// Expects from_json(j) to throw a janus::Error whose message contains every `needle`.
void expect_error(const std::string& text, std::initializer_list<const char*> needles) {
    try {
        janus::Tokenizer::from_json(text, {}, "tokenizer.json");
        ADD_FAILURE() << "no error for " << text.substr(0, 200);
    } catch (const janus::Error& e) {
        std::string msg = e.what();
        for (const char* n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "message: " << msg << "\nmissing: " << n;
    }
}

}  // namespace

TEST(TokenizerErrors, MalformedJson) {
    expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,}}", {"tokenizer.json", "malformed JSON"});
    expect_error("", {"malformed JSON"});
    expect_error("[1, 2]", {"top level"});
}

TEST(TokenizerErrors, MissingFields) {
    expect_error("{}", {"model", "missing"});
    json j = base();
    j["model"].erase("merges");
    expect_error(j.dump(), {"model.merges", "missing"});
    j = base();
    j["model"].erase("vocab");
    expect_error(j.dump(), {"model.vocab", "missing"});
    j = base();
    j["added_tokens"] = {{{"content", "<x>"}}};
    expect_error(j.dump(), {"added_tokens[0].id", "missing"});
    j = base();
    j["post_processor"] = {{"type", "TemplateProcessing"}, {"single", {{{"SpecialToken", {{"id", "<bos>"}}}}, {{"Sequence", {{"id", "A"}}}}}}};
    expect_error(j.dump(), {"post_processor.single[0].SpecialToken.id", "<bos>", "not in the vocabulary"});
}

TEST(TokenizerErrors, UnknownTypes) {
    json j = base();
    j["model"]["type"] = "Unigram";
    expect_error(j.dump(), {"model.type", "Unigram"});
    j = base();
    j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "BertNormalizer"}}}}};
    expect_error(j.dump(), {"normalizer.normalizers[1].type", "BertNormalizer"});
    j = base();
    j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "UnicodeScripts"}}}}};
    expect_error(j.dump(), {"pre_tokenizer.pretokenizers[0].type", "UnicodeScripts"});
    j = base();
    j["decoder"] = {{"type", "WordPiece"}};
    expect_error(j.dump(), {"decoder.type", "WordPiece"});
    j = base();
    j["post_processor"] = {{"type", "Unknown"}};
    expect_error(j.dump(), {"post_processor.type", "Unknown"});
    j = base();
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Sideways"}};
    expect_error(j.dump(), {"pre_tokenizer.behavior", "Sideways"});
}

TEST(TokenizerErrors, MergesNamingUnknownTokens) {
    json j = base();
    j["model"]["merges"] = {"a b", "a c"};
    expect_error(j.dump(), {"model.merges[1]", "\"c\"", "not in model.vocab"});
    j = base();
    j["model"]["merges"] = {"b a"};  // "ba" is not in the vocab
    expect_error(j.dump(), {"model.merges[0]", "\"ba\""});
    j = base();
    j["model"]["merges"] = {"a b c"};
    expect_error(j.dump(), {"model.merges[0]", "two tokens"});
    j = base();
    j["model"]["merges"] = json::array({json::array({"a"})});
    expect_error(j.dump(), {"model.merges[0]"});
    j = base();
    j["model"]["vocab"]["c"] = -3;
    expect_error(j.dump(), {"model.vocab[\"c\"]", "non-negative"});
}

TEST(TokenizerErrors, RegexThatDoesNotCompile) {
    json j = base();
    j["pre_tokenizer"] = {{"type", "Sequence"},
                          {"pretokenizers", {{{"type", "Split"}, {"pattern", {{"Regex", "(\\p{L}+"}}}, {"behavior", "Isolated"}}}}};
    expect_error(j.dump(), {"pre_tokenizer.pretokenizers[0].pattern.Regex", "does not compile"});
    j = base();
    j["normalizer"] = {{"type", "Replace"}, {"pattern", {{"Regex", "[z-a]"}}}, {"content", ""}};
    expect_error(j.dump(), {"normalizer.pattern.Regex"});
}

TEST(TokenizerErrors, BadPaths) {
    EXPECT_THROW(janus::Tokenizer::load("/nonexistent/tokenizer.json"), janus::Error);
    EXPECT_THROW(janus::Tokenizer::load(tok_test::data_dir()), janus::Error);  // a directory without tokenizer.json
    try {
        janus::Tokenizer::load("/nonexistent/dir");
    } catch (const janus::Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/dir"), std::string::npos);
    }
    auto t = janus::Tokenizer::from_json(base().dump());
    EXPECT_THROW(t.require_id("<missing>"), janus::Error);
    EXPECT_THROW(t.id_to_token(99), janus::Error);
    EXPECT_EQ(t.decode(std::vector<int32_t>{0, 99, -1, 1}, false), "a b");  // unknown ids skipped
}

TEST(InvalidUtf8, ByteLevelKeepsRawBytes) {
    const auto& tok = tok_test::get("janus_style");
    std::vector<std::string> inputs = {"\xff", "abc\x80", "\xc3", "\xe4\xbd", "ok \xf0\x9f\x98 then", "\xed\xa0\x80",
                                       "\xc0\xaf", std::string("nul\0byte", 8), "\xf4\x90\x80\x80", "caf\xe9"};
    for (auto& s : inputs) {
        auto ids = tok.encode(s, false);
        EXPECT_FALSE(ids.empty());
        EXPECT_EQ(tok.decode_raw(ids, false), s) << "raw bytes must survive a byte-level round trip";
    }
    // Random byte strings: never a crash, always a byte-exact round trip.
    std::mt19937 rng(7);
    for (int k = 0; k < 300; ++k) {
        std::string s(size_t(rng() % 40), '\0');
        for (auto& c : s) c = char(rng() % 256);
        EXPECT_EQ(tok.decode_raw(tok.encode(s, false), false), s);
    }
}

TEST(InvalidUtf8, NonByteLevelSeesReplacementChar) {
    const auto& tok = tok_test::get("llama2");
    // Each maximal invalid subsequence becomes one U+FFFD (WHATWG / from_utf8_lossy).
    EXPECT_EQ(tok.encode("a\xff" "b", false), tok.encode("a\xef\xbf\xbd" "b", false));
    EXPECT_EQ(tok.encode("a\xe4\xbd" "b", false), tok.encode("a\xef\xbf\xbd" "b", false));
    EXPECT_EQ(tok.encode("\xe0\x80", false), tok.encode("\xef\xbf\xbd\xef\xbf\xbd", false));
}

TEST(JanusCheckpoint, MissingImagePlaceholderIsAppendedAsSpecial) {
    // facts §3.3: when a Janus checkpoint's tokenizer lacks <image_placeholder>, the reference
    // processor adds it as a special token at id = vocabulary length.
    std::string dir = ::testing::TempDir() + "janus_no_placeholder";
    std::string cmd = "mkdir -p '" + dir + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    {
        std::ofstream(dir + "/tokenizer.json") << base().dump();
        std::ofstream(dir + "/config.json") << R"({"architectures": ["MultiModalityCausalLM"], "model_type": "multi_modality"})";
    }
    auto tok = janus::Tokenizer::load(dir);
    ASSERT_TRUE(tok.token_to_id("<image_placeholder>"));
    EXPECT_EQ(*tok.token_to_id("<image_placeholder>"), 3);
    EXPECT_TRUE(tok.is_special(3));
    EXPECT_EQ(tok.encode("ab<image_placeholder>", false), (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(tok.architectures(), (std::vector<std::string>{"MultiModalityCausalLM"}));
    // A non-Janus checkpoint gets no such token.
    std::ofstream(dir + "/config.json") << R"({"architectures": ["LlamaForCausalLM"]})";
    EXPECT_FALSE(janus::Tokenizer::load(dir).token_to_id("<image_placeholder>"));
}
