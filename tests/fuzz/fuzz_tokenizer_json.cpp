// libFuzzer target for the tokenizer. Input starting with '{' is treated as a tokenizer.json: it is
// loaded (errors must be janus::Error, never a crash) and, if it loads, used to encode and decode a
// few strings. Any other input is text (arbitrary bytes, often invalid UTF-8) encoded and decoded by
// a small built-in byte-level tokenizer with Split regexes, added tokens and a normalizer.
// Run via scripts/fuzz (seed corpus: tests/fuzz/corpus/fuzz_tokenizer_json/).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "janus/chat_format.h"
#include "janus/tokenizer.h"

namespace {

const char* kSmallTokenizer = R"JSON({
  "added_tokens": [
    {"id": 20, "content": "<s>", "special": true, "lstrip": false, "rstrip": false, "single_word": false, "normalized": false},
    {"id": 21, "content": "[X]", "special": false, "lstrip": true, "rstrip": true, "single_word": true, "normalized": true}],
  "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": "\\s{3,}"}, "content": "  "}]},
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated", "invert": false},
    {"type": "Split", "pattern": {"Regex": "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false},
    {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                     "special_tokens": {"<s>": {"id": "<s>", "ids": [20], "tokens": ["<s>"]}}},
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "Ġ": 2, "ab": 3, "Ġa": 4}, "merges": ["a b", "Ġ a"], "byte_fallback": false}
})JSON";

void exercise(const janus::Tokenizer& tok, std::string_view text) {
    auto ids = tok.encode(text, true);
    (void)tok.decode(ids, true);
    (void)tok.decode(ids, false);
    janus::StreamDecoder sd(tok);
    for (int32_t id : ids) (void)sd.push(id);
    (void)sd.finish();
    for (int32_t id : ids)
        if (tok.has_id(id)) (void)tok.id_to_token(id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    if (!input.empty() && input[0] == '{') {
        try {
            auto tok = janus::Tokenizer::from_json(input, {}, "fuzz.json");
            exercise(tok, "Hello wörld 123 \xF0\x9F\x98\x80 <s>");
            exercise(tok, input.substr(0, 64));
            try {
                (void)janus::ChatFormat::detect(tok).encode(tok, {{"user", "hi"}}, true);
            } catch (const janus::Error&) {
            }
        } catch (const janus::Error&) {
        }
        return 0;
    }
    static const janus::Tokenizer small = janus::Tokenizer::from_json(kSmallTokenizer, {}, "small");
    exercise(small, input);
    return 0;
}
