// The tokenizer pipeline's pluggable parts, built from the JSON sections of tokenizer.json:
// normalizer (string → string), pre-tokenizer (pieces → finer pieces), decoder (token strings →
// text), post-processor (ids → ids with BOS/EOS). Each factory throws janus::Error naming the JSON
// path ("tokenizer.json: pre_tokenizer.pretokenizers[2].type: unsupported ...") on bad input.
#pragma once
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace janus::tok_detail {

using json = nlohmann::json;

// JSON access helpers that report "<where>.<key>" paths.
const json& jget(const json& j, const char* key, const std::string& where);  // required
std::string jstr(const json& j, const char* key, const std::string& where, const std::string& dflt);
bool jbool(const json& j, const char* key, const std::string& where, bool dflt);
int64_t jint(const json& j, const char* key, const std::string& where, int64_t dflt);
[[noreturn]] void json_fail(const std::string& where, const std::string& problem);

// ---- normalizers -------------------------------------------------------------------------------
struct Normalizer {
    virtual ~Normalizer() = default;
    virtual void apply(std::string& s) const = 0;
};
std::unique_ptr<Normalizer> make_normalizer(const json& j, const std::string& where);

// ---- pre-tokenizers ----------------------------------------------------------------------------
// A piece of text being split; `at_origin` is true for the piece that starts at offset 0 of the
// whole input (Metaspace's prepend_scheme "first" needs it).
struct Piece {
    std::string text;
    bool at_origin = false;
};
struct PreTokenizer {
    virtual ~PreTokenizer() = default;
    virtual void apply(std::vector<Piece>& pieces) const = 0;
    // True when this pre-tokenizer (or one inside a Sequence) maps bytes to the GPT-2 alphabet.
    virtual bool byte_level() const { return false; }
};
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const std::string& where);

// Raw-byte escapes: invalid UTF-8 input bytes travel through normalizers/regexes as the private-use
// code points U+F0000+byte; ByteLevel turns them back into their byte.
constexpr int32_t kRawByteBase = 0xF0000;
// Maps a string to the GPT-2 byte alphabet (each byte → one char), decoding raw-byte escapes when
// `escapes` is set.
void byte_level_map(std::string_view in, std::string& out, bool escapes);

// ---- decoders ----------------------------------------------------------------------------------
struct Decoder {
    virtual ~Decoder() = default;
    // Transforms the token list in place (a decoder may fuse it into one string).
    virtual void apply(std::vector<std::string>& tokens) const = 0;
};
std::unique_ptr<Decoder> make_decoder(const json& j, const std::string& where);

// ---- post-processors ---------------------------------------------------------------------------
// Resolves a special token string to its id (throws when absent).
struct TokenLookup {
    virtual ~TokenLookup() = default;
    virtual int32_t id_of(const std::string& token, const std::string& where) const = 0;
};
struct PostProcessor {
    virtual ~PostProcessor() = default;
    // ids → ids with the template's special tokens (single-sequence template only).
    virtual std::vector<int32_t> apply(std::vector<int32_t> ids) const = 0;
    // ids added before / after the sequence.
    virtual void affixes(std::vector<int32_t>& prefix, std::vector<int32_t>& suffix) const = 0;
};
std::unique_ptr<PostProcessor> make_post_processor(const json& j, const std::string& where, const TokenLookup& vocab);
// A TemplateProcessing equivalent to "[bos] $A [eos]" (transformers' LlamaTokenizerFast rewrite).
std::unique_ptr<PostProcessor> make_affix_processor(std::vector<int32_t> prefix, std::vector<int32_t> suffix);

}  // namespace janus::tok_detail
