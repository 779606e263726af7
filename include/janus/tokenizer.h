// janus::Tokenizer — Hugging Face tokenizer.json → token ids and back, exactly as the `tokenizers`
// library does it; a streaming decoder for chat/server output; chat formats (chat_format.h).
// No tensors here: ids are plain int32 vectors, text is UTF-8 std::string.
//
// Supported (anything else is rejected at load with the JSON path of the unsupported part):
//   model: BPE (merges "a b" or ["a","b"], byte_fallback, ignore_merges, continuing_subword_prefix,
//          end_of_word_suffix, unk_token, fuse_unk);
//   normalizers: NFC, NFKC, NFD, NFKD, Lowercase, Replace, Prepend, Strip, Sequence;
//   pre-tokenizers: Split (Oniguruma regex or string), ByteLevel, Digits, Metaspace, Whitespace,
//          WhitespaceSplit, Punctuation, Sequence;
//   post-processors: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence
//          (Llama-class tokenizer_config.json: BOS/EOS from add_bos_token/add_eos_token, as transformers);
//   decoders: ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence;
//   added tokens: special / non-special, lstrip, rstrip, single_word, normalized.
//
// Usage:
//   auto tok = janus::Tokenizer::load("path/to/model_dir");        // or .../tokenizer.json
//   std::vector<int32_t> ids = tok.encode("Hello", /*add_special=*/true);
//   std::string text = tok.decode(ids, /*skip_special=*/true);
//   int32_t boi = tok.require_id("<begin_of_image>");               // throws janus::Error if absent
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "janus/error.h"

namespace janus {

namespace tok_detail {
struct TokenizerImpl;
}

class Tokenizer {
public:
    // Loads `path`: a tokenizer.json(.gz) file, or a directory holding tokenizer.json(.gz) (and optionally
    // tokenizer_config.json, special_tokens_map.json, config.json, which are read for BOS/EOS/PAD,
    // add_bos_token and the chat template). Throws janus::Error naming the file and JSON path.
    static Tokenizer load(const std::string& path);
    // Builds from tokenizer.json text (+ optional tokenizer_config.json text). `source` names the
    // origin in error messages.
    static Tokenizer from_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json = {},
                               const std::string& source = "<memory>");

    Tokenizer(const Tokenizer&) = default;
    Tokenizer& operator=(const Tokenizer&) = default;
    Tokenizer(Tokenizer&&) noexcept = default;
    Tokenizer& operator=(Tokenizer&&) noexcept = default;
    ~Tokenizer();

    // Text → ids. add_special: apply the post-processor (BOS etc., as the model expects).
    // Special-token strings inside `text` always map to their ids (as HF does). Invalid UTF-8 is
    // accepted: byte-level models encode the raw bytes; others see U+FFFD per invalid sequence.
    // Thread-safe (one Tokenizer may be shared by threads).
    std::vector<int32_t> encode(std::string_view text, bool add_special = true) const;
    // Same, also returning the token strings (vocabulary spellings).
    std::vector<int32_t> encode_with_tokens(std::string_view text, bool add_special,
                                            std::vector<std::string>* tokens) const;
    // Ids → text. skip_special drops special added tokens (e.g. BOS/EOS). Ids outside the
    // vocabulary are skipped (as the reference does; LM heads are often wider than the vocabulary).
    std::string decode(std::span<const int32_t> ids, bool skip_special = true) const;

    std::optional<int32_t> token_to_id(std::string_view token) const;
    int32_t require_id(std::string_view token) const;  // throws janus::Error naming the token
    // Vocabulary spelling of `id` (e.g. "Ġhello"); throws for an id outside the vocabulary.
    std::string id_to_token(int32_t id) const;
    bool is_special(int32_t id) const;   // a special added token
    bool has_id(int32_t id) const;
    // One past the largest id (model vocab + added tokens). Embedding tables may be larger.
    int32_t vocab_size() const;

    // Special tokens from tokenizer_config.json / special_tokens_map.json (or the post-processor).
    std::optional<int32_t> bos_id() const;
    std::optional<int32_t> eos_id() const;
    std::optional<int32_t> pad_id() const;
    const std::string& bos_token() const;  // "" when none
    const std::string& eos_token() const;
    const std::string& pad_token() const;

    // Raw chat_template string from tokenizer_config.json ("" when none) — used by ChatFormat.
    const std::string& chat_template() const;
    // config.json "architectures"/"model_type" of the model directory (empty when not present).
    const std::vector<std::string>& architectures() const;
    const std::string& model_type() const;
    const std::string& source() const;  // the path it was loaded from

    // tokenizer_config.json "clean_up_tokenization_spaces" (absent: false): decode() then applies
    // transformers' clean_up_tokenization (" ." → ".", " n't" → "n't", ...).
    bool clean_up_tokenization_spaces() const;

    // Internal: byte-exact decode without lossy UTF-8 repair and without the clean-up (used by
    // StreamDecoder, which applies the clean-up itself).
    std::string decode_raw(std::span<const int32_t> ids, bool skip_special) const;

private:
    explicit Tokenizer(std::shared_ptr<const tok_detail::TokenizerImpl> impl);
    std::shared_ptr<const tok_detail::TokenizerImpl> impl_;
};

// Incremental ids → UTF-8 for streaming output. push() returns the text that became final with this
// token (possibly ""), never a partial code point; finish() returns whatever is left (incomplete
// bytes become U+FFFD). The concatenation of all outputs equals tokenizer.decode(all ids), including
// the clean-up when the tokenizer asks for it (then text a later token may still change, such as a
// trailing " n" before "'t", is held back until it is final).
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = true);
    std::string push(int32_t id);
    std::string finish();
    void reset();

private:
    Tokenizer tok_;
    bool skip_special_;
    std::vector<int32_t> ids_;
    size_t prefix_ = 0;    // ids_[prefix_..] are re-decoded on each push
    size_t read_ = 0;      // ids_[prefix_..read_) produced the last emitted chunk (left context)
    std::string emitted_;  // decode_raw(ids_[prefix_..read_))
    std::string pending_;  // decoded text held back for the clean-up (empty when it is off)
    std::string clean(std::string piece, bool final);
};

}  // namespace janus
