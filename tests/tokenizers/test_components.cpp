// Unit tests of the tokenizer's parts against hand-derived expectations from the semantics of the
// Hugging Face `tokenizers` library (split behaviours, BPE merge order, byte fallback, added-token
// options, decoders, post-processors). Each case states its input and the exact expected output.
#include <gtest/gtest.h>

#include "janus/tokenizer.h"
#include <utf8proc.h>

#include <cstdlib>

#include "tokenizers/components.h"
#include "tokenizers/unicode.h"

using janus::tok_detail::json;
using janus::tok_detail::Piece;

namespace {

std::vector<std::string> pre(const json& cfg, const std::string& text) {
    auto p = janus::tok_detail::make_pre_tokenizer(cfg, "test");
    std::vector<Piece> pieces{{text, true}};
    p->apply(pieces);
    std::vector<std::string> out;
    for (auto& x : pieces) out.push_back(x.text);
    return out;
}

std::string norm(const json& cfg, std::string text) {
    janus::tok_detail::make_normalizer(cfg, "test")->apply(text);
    return text;
}

std::vector<std::string> dec(const json& cfg, std::vector<std::string> toks) {
    janus::tok_detail::make_decoder(cfg, "test")->apply(toks);
    return toks;
}

using V = std::vector<std::string>;

// A tokenizer.json with the given parts; vocab from a list (id = position).
std::string make_json(const V& vocab, const json& merges, json extra = json::object()) {
    json j = {{"version", "1.0"}, {"added_tokens", json::array()}, {"normalizer", nullptr},
              {"pre_tokenizer", nullptr}, {"post_processor", nullptr}, {"decoder", nullptr}};
    json v = json::object();
    for (size_t i = 0; i < vocab.size(); ++i) v[vocab[i]] = i;
    j["model"] = {{"type", "BPE"}, {"vocab", v}, {"merges", merges}};
    for (auto& [k, val] : extra.items()) {
        if (k == "model") for (auto& [mk, mv] : val.items()) j["model"][mk] = mv;
        else j[k] = val;
    }
    return j.dump();
}

}  // namespace

TEST(PreTokenizers, SplitBehaviours) {
    auto split = [](const char* beh) {
        return json{{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", beh}, {"invert", false}};
    };
    EXPECT_EQ(pre(split("Removed"), "a-b--c"), (V{"a", "b", "c"}));
    EXPECT_EQ(pre(split("Isolated"), "a-b--c"), (V{"a", "-", "b", "-", "-", "c"}));
    EXPECT_EQ(pre(split("MergedWithPrevious"), "a-b--c"), (V{"a-", "b-", "-", "c"}));
    EXPECT_EQ(pre(split("MergedWithNext"), "a-b--c"), (V{"a", "-b", "-", "-c"}));
    EXPECT_EQ(pre(split("Contiguous"), "a-b--c"), (V{"a", "-", "b", "--", "c"}));
    json inv = {{"type", "Split"}, {"pattern", {{"Regex", "\\d+"}}}, {"behavior", "Removed"}, {"invert", true}};
    EXPECT_EQ(pre(inv, "ab12cd345"), (V{"12", "345"}));
}

TEST(PreTokenizers, SplitRegexLookaheadAndUnicodeClasses) {
    json j = {{"type", "Split"},
              {"pattern", {{"Regex", "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}},
              {"behavior", "Isolated"}, {"invert", false}};
    // "\s+(?!\S)" leaves the last space of a run for the next word.
    EXPECT_EQ(pre(j, "a   b"), (V{"a", "  ", " b"}));
    EXPECT_EQ(pre(j, "12345 Привет!\n\n"), (V{"123", "45", " Привет", "!\n\n"}));
    EXPECT_EQ(pre(j, "x\u3000\u3000y"), (V{"x", "\u3000", "\u3000y"}));  // U+3000 is \s
}

TEST(PreTokenizers, OnigurumaWhitespaceClass) {
    // Oniguruma (the reference library's engine): \s is Unicode White_Space — U+0085 yes, U+FEFF no.
    // (JavaScript's \s differs on both, so @lenml/tokenizers is not the reference here.)
    json j = {{"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Removed"}, {"invert", false}};
    EXPECT_EQ(pre(j, "a\u0085b\ufeffc"), (V{"a", "b\ufeffc"}));
    // "$" also matches before a newline (no single-line option), as in the reference: the spaces
    // before "\n" form a piece (with "$" = end of input only, nothing would match).
    json k = {{"type", "Split"}, {"pattern", {{"Regex", "\\s+$"}}}, {"behavior", "Isolated"}, {"invert", false}};
    EXPECT_EQ(pre(k, "ab  \ncd"), (V{"ab", "  ", "\ncd"}));
}

TEST(PreTokenizers, ByteLevelRegexAndPrefixSpace) {
    json j = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
    EXPECT_EQ(pre(j, "Hello world's 123!!"), (V{" Hello", " world", "'s", " 123", "!!"}));
    json k = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
    EXPECT_EQ(pre(k, "Hello world"), (V{"Hello world"}));
}

TEST(PreTokenizers, DigitsMetaspaceWhitespacePunctuation) {
    EXPECT_EQ(pre({{"type", "Digits"}, {"individual_digits", true}}, "a123b"), (V{"a", "1", "2", "3", "b"}));
    EXPECT_EQ(pre({{"type", "Digits"}, {"individual_digits", false}}, "a123b4"), (V{"a", "123", "b", "4"}));
    json ms = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}, {"split", true}};
    EXPECT_EQ(pre(ms, "Hey friend"), (V{"\u2581Hey", "\u2581friend"}));
    ms["split"] = false;
    EXPECT_EQ(pre(ms, "Hey friend"), (V{"\u2581Hey\u2581friend"}));
    ms["prepend_scheme"] = "never";
    EXPECT_EQ(pre(ms, "Hey friend"), (V{"Hey\u2581friend"}));
    EXPECT_EQ(pre({{"type", "Whitespace"}}, "Hey, you!  ok"), (V{"Hey", ",", "you", "!", "ok"}));
    EXPECT_EQ(pre({{"type", "WhitespaceSplit"}}, " a\tb\u00a0c "), (V{"a", "b", "c"}));
    EXPECT_EQ(pre({{"type", "Punctuation"}, {"behavior", "Isolated"}}, "a,b!?"), (V{"a", ",", "b", "!", "?"}));
    json seq = {{"type", "Sequence"},
                {"pretokenizers", {{{"type", "WhitespaceSplit"}}, {{"type", "Digits"}, {"individual_digits", true}}}}};
    EXPECT_EQ(pre(seq, "ab12 c3"), (V{"ab", "1", "2", "c", "3"}));
}

TEST(Normalizers, UnicodeFormsCaseReplacePrependStrip) {
    EXPECT_EQ(norm({{"type", "NFC"}}, "e\u0301"), "\u00e9");
    EXPECT_EQ(norm({{"type", "NFD"}}, "\u00e9"), "e\u0301");
    EXPECT_EQ(norm({{"type", "NFKC"}}, "\ufb01\u00b2\uff21"), "fi2A");
    EXPECT_EQ(norm({{"type", "NFKD"}}, "\u00e9\u2460"), "e\u03011");
    EXPECT_EQ(norm({{"type", "Lowercase"}}, "HeLLo \u0130 \u03a3"), "hello i\u0307 \u03c3");
    EXPECT_EQ(norm({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}, "a b  c"),
              "a\u2581b\u2581\u2581c");
    EXPECT_EQ(norm({{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", " "}}, "a \t\n b"), "a b");
    EXPECT_EQ(norm({{"type", "Prepend"}, {"prepend", "\u2581"}}, "x"), "\u2581x");
    EXPECT_EQ(norm({{"type", "Prepend"}, {"prepend", "\u2581"}}, ""), "");
    EXPECT_EQ(norm({{"type", "Strip"}, {"strip_left", true}, {"strip_right", false}}, " \u3000a b "), "a b ");
    EXPECT_EQ(norm({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}, "\t a \n"), "a");
    json seq = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFKC"}}, {{"type", "Lowercase"}}}}};
    EXPECT_EQ(norm(seq, "\uff21B"), "ab");
}

TEST(Decoders, AllKinds) {
    EXPECT_EQ(dec({{"type", "ByteLevel"}}, {"Hello", "\u0120w\u00c3\u00b6rld", "<|x|>"}), (V{"Hello w\u00f6rld<|x|>"}));
    json ms = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}, {"split", true}};
    EXPECT_EQ(dec(ms, {"\u2581Hey", "\u2581friend"}), (V{"Hey", " friend"}));
    // An invalid byte run becomes one U+FFFD per byte token.
    EXPECT_EQ(dec({{"type", "ByteFallback"}}, {"a", "<0xC3>", "<0xA9>", "<0xFF>", "b"}), (V{"a", "\ufffd", "\ufffd", "\ufffd", "b"}));
    EXPECT_EQ(dec({{"type", "ByteFallback"}}, {"a", "<0xC3>", "<0xA9>", "b"}), (V{"a", "\u00e9", "b"}));
    EXPECT_EQ(dec({{"type", "Fuse"}}, {"a", "b", "c"}), (V{"abc"}));
    EXPECT_EQ(dec({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 1}}, {"  a  ", "b"}), (V{" a ", "b"}));
    EXPECT_EQ(dec({{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}}, {"\u2581a\u2581b"}), (V{" a b"}));
    json seq = {{"type", "Sequence"},
                {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                              {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                              {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
    EXPECT_EQ(dec(seq, {"\u2581Hi", "<0xE2>", "<0x9C>", "<0x93>", "\u2581there"}), (V{"Hi\u2713 there"}));
}

TEST(Bpe, MergeOrderFollowsRankThenPosition) {
    V vocab = {"a", "b", "c", "ab", "bc", "abc"};
    // "b c" has the lowest rank, so "abc" = a + (bc).
    auto t1 = janus::Tokenizer::from_json(make_json(vocab, {"b c", "a b", "a bc"}));
    EXPECT_EQ(t1.encode("abc", false), (std::vector<int32_t>{5}));
    auto t2 = janus::Tokenizer::from_json(make_json(vocab, {"a b", "b c"}));
    EXPECT_EQ(t2.encode("abc", false), (std::vector<int32_t>{3, 2}));
    // Pair syntax [left, right] is equivalent to "left right".
    auto t3 = janus::Tokenizer::from_json(make_json(vocab, json::array({{"a", "b"}, {"b", "c"}})));
    EXPECT_EQ(t3.encode("abc", false), (std::vector<int32_t>{3, 2}));
    // Equal ranks never happen; the same pair twice keeps the later rank (reference semantics).
    V v2 = {"a", "aa", "aaa"};
    auto t4 = janus::Tokenizer::from_json(make_json(v2, {"a a", "aa a"}));
    EXPECT_EQ(t4.encode("aaaa", false), (std::vector<int32_t>{1, 1}));  // leftmost pairs merge first
    EXPECT_EQ(t4.encode("aaa", false), (std::vector<int32_t>{2}));
}

TEST(Bpe, ByteFallbackUnkPrefixSuffixIgnoreMerges) {
    V vocab = {"<unk>", "a", "<0xC3>", "<0xA9>"};
    auto bf = janus::Tokenizer::from_json(make_json(vocab, json::array(), {{"model", {{"byte_fallback", true}, {"unk_token", "<unk>"}}}}));
    EXPECT_EQ(bf.encode("a\u00e9", false), (std::vector<int32_t>{1, 2, 3}));
    EXPECT_EQ(bf.encode("a\u00e8x", false), (std::vector<int32_t>{1, 0, 0}));  // <0xA8> absent → unk per char
    auto fused = janus::Tokenizer::from_json(make_json(vocab, json::array(), {{"model", {{"fuse_unk", true}, {"unk_token", "<unk>"}}}}));
    EXPECT_EQ(fused.encode("xya", false), (std::vector<int32_t>{0, 1}));
    auto nounk = janus::Tokenizer::from_json(make_json(vocab, json::array()));
    EXPECT_EQ(nounk.encode("xay", false), (std::vector<int32_t>{1}));  // no unk token: dropped

    V wp = {"h", "##e", "##y</w>", "he", "hey</w>"};
    auto ps = janus::Tokenizer::from_json(make_json(wp, {"h ##e", "he ##y</w>"},
        {{"model", {{"continuing_subword_prefix", "##"}, {"end_of_word_suffix", "</w>"}}}}));
    EXPECT_EQ(ps.encode("hey", false), (std::vector<int32_t>{4}));

    V im = {"a", "b", "ab", "abab"};
    auto ig = janus::Tokenizer::from_json(make_json(im, {"a b"}, {{"model", {{"ignore_merges", true}}}}));
    EXPECT_EQ(ig.encode("abab", false), (std::vector<int32_t>{3}));
    auto noig = janus::Tokenizer::from_json(make_json(im, {"a b"}));
    EXPECT_EQ(noig.encode("abab", false), (std::vector<int32_t>{2, 2}));
}

TEST(AddedTokens, LongestFirstStripAndSingleWord) {
    V vocab = {"a", "b", " ", "x"};
    json added = json::array({
        {{"id", 10}, {"content", "<s>"}, {"special", true}, {"lstrip", false}, {"rstrip", false}, {"single_word", false}, {"normalized", false}},
        {{"id", 11}, {"content", "<s>x"}, {"special", true}, {"lstrip", false}, {"rstrip", false}, {"single_word", false}, {"normalized", false}},
        {{"id", 12}, {"content", "[L]"}, {"special", false}, {"lstrip", true}, {"rstrip", true}, {"single_word", false}, {"normalized", false}},
        {{"id", 13}, {"content", "ab"}, {"special", false}, {"lstrip", false}, {"rstrip", false}, {"single_word", true}, {"normalized", false}},
        {{"id", 14}, {"content", "bb"}, {"special", false}, {"lstrip", false}, {"rstrip", false}, {"single_word", false}, {"normalized", true}},
    });
    json norm = {{"type", "Lowercase"}};
    auto t = janus::Tokenizer::from_json(make_json(vocab, json::array(), {{"added_tokens", added}, {"normalizer", norm}}));
    using I = std::vector<int32_t>;
    EXPECT_EQ(t.encode("a<s>xb<s>", false), (I{0, 11, 1, 10}));   // longest match wins
    EXPECT_EQ(t.encode("a  [L]  b", false), (I{0, 12, 1}));       // lstrip/rstrip swallow spaces
    EXPECT_EQ(t.encode("ab xab ab", false), (I{13, 2, 3, 0, 1, 2, 13}));  // single_word
    EXPECT_EQ(t.encode("aBB", false), (I{0, 14}));                // normalized token matched after lowercasing
    EXPECT_TRUE(t.is_special(10));
    EXPECT_FALSE(t.is_special(12));
    // No decoder: tokens joined by spaces; skip_special drops only special ones.
    EXPECT_EQ(t.decode(I{0, 10, 12, 1}, true), "a [L] b");
    EXPECT_EQ(t.decode(I{0, 10, 12, 1}, false), "a <s> [L] b");
    EXPECT_EQ(t.vocab_size(), 15);
}

TEST(PostProcessors, TemplateSequenceBert) {
    V vocab = {"[CLS]", "[SEP]", "a"};
    json tp = {{"type", "TemplateProcessing"},
               {"single", {{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                           {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}}}},
               {"pair", json::array()},
               {"special_tokens", {{"[CLS]", {{"id", "[CLS]"}, {"ids", {0}}, {"tokens", {"[CLS]"}}}},
                                   {"[SEP]", {{"id", "[SEP]"}, {"ids", {1}}, {"tokens", {"[SEP]"}}}}}}};
    auto t = janus::Tokenizer::from_json(make_json(vocab, json::array(), {{"post_processor", tp}}));
    EXPECT_EQ(t.encode("aa", true), (std::vector<int32_t>{0, 2, 2, 1}));
    EXPECT_EQ(t.encode("aa", false), (std::vector<int32_t>{2, 2}));
    json seq = {{"type", "Sequence"}, {"processors", {{{"type", "ByteLevel"}, {"trim_offsets", false}}, tp}}};
    auto t2 = janus::Tokenizer::from_json(make_json(vocab, json::array(), {{"post_processor", seq}}));
    EXPECT_EQ(t2.encode("a", true), (std::vector<int32_t>{0, 2, 1}));
    json bert = {{"type", "BertProcessing"}, {"cls", {"[CLS]", 0}}, {"sep", {"[SEP]", 1}}};
    auto t3 = janus::Tokenizer::from_json(make_json(vocab, json::array(), {{"post_processor", bert}}));
    EXPECT_EQ(t3.encode("a", true), (std::vector<int32_t>{0, 2, 1}));
}

TEST(Tokenizer, LlamaClassAddsBosFromTokenizerConfig) {
    V vocab = {"<s>", "</s>", "a"};
    std::string tj = make_json(vocab, json::array());
    auto bos = janus::Tokenizer::from_json(tj, R"({"tokenizer_class": "LlamaTokenizerFast", "bos_token": "<s>", "eos_token": "</s>"})");
    EXPECT_EQ(bos.encode("a", true), (std::vector<int32_t>{0, 2}));
    EXPECT_EQ(bos.bos_id(), 0);
    EXPECT_EQ(bos.eos_id(), 1);
    auto both = janus::Tokenizer::from_json(
        tj, R"({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "add_eos_token": true, "add_bos_token": false})");
    EXPECT_EQ(both.encode("a", true), (std::vector<int32_t>{2, 1}));
    // Special tokens named in tokenizer_config become special (skipped by decode).
    EXPECT_TRUE(bos.is_special(0));
    EXPECT_EQ(bos.decode(std::vector<int32_t>{0, 2, 1}, true), "a");
}

TEST(Normalizers, NfcFastPathMatchesUtf8procOnRandomText) {
    // normalize(NFC) skips characters that NFC never changes; it must equal utf8proc's full NFC.
    const int32_t pool[] = {'a', 'A', 'e', ' ', 0xE9, 0xC5, 0x300, 0x301, 0x308, 0x323, 0x327, 0x344, 0x1E9B, 0x3099,
                            0x309A, 0x304B, 0x30AB, 0x1100, 0x1161, 0x11A8, 0xAC00, 0x4E00, 0x9FA5, 0xF900, 0x212B,
                            0x2126, 0x1F600, 0x0F73, 0x0915, 0x093C, 0x05D1, 0x05BC, 0x0627, 0x0653};
    uint32_t st = 12345;
    for (int k = 0; k < 2000; ++k) {
        std::string s;
        int n = int((st = st * 1664525 + 1013904223) >> 28);
        for (int i = 0; i < n; ++i) {
            st = st * 1664525 + 1013904223;
            janus::tok_detail::utf8_append(s, pool[(st >> 16) % (sizeof pool / sizeof pool[0])]);
        }
        auto* ref = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str()));
        ASSERT_NE(ref, nullptr);
        EXPECT_EQ(janus::tok_detail::normalize(s, janus::tok_detail::NormForm::NFC), std::string(reinterpret_cast<char*>(ref)));
        std::free(ref);
    }
}
