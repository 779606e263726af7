// Internal state of janus::Tokenizer: the loaded pipeline (added tokens → normalizer →
// pre-tokenizer → BPE → post-processor; decoder for the way back) and the metadata read from
// tokenizer_config.json / special_tokens_map.json / config.json.
#pragma once
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizers/added_tokens.h"
#include "tokenizers/bpe.h"
#include "tokenizers/components.h"

namespace janus::tok_detail {

struct TokenizerImpl {
    std::string source;
    std::unique_ptr<Normalizer> normalizer;
    std::unique_ptr<PreTokenizer> pre_tokenizer;
    std::unique_ptr<BpeModel> model;
    std::unique_ptr<PostProcessor> post_processor;
    std::unique_ptr<Decoder> decoder;
    bool byte_level = false;  // a ByteLevel pre-tokenizer is present (raw bytes can be encoded)

    std::vector<AddedToken> added;                          // in file order
    std::unordered_map<int32_t, size_t> added_by_id;        // id → index in `added`
    std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> added_by_content;  // content → id
    AddedMatcher raw_matcher, normalized_matcher;
    std::shared_ptr<std::vector<AddedToken>> normalized_owned;  // normalized copies the matcher points at

    std::vector<std::string_view> id_to_token;  // model + added (views into model / `added`), "" for holes
    std::vector<uint8_t> special;          // per id: 1 when a special added token
    int32_t vocab_size = 0;

    std::string bos, eos, pad, chat_template, model_type;
    std::vector<std::string> architectures;
    bool clean_up_spaces = false;

    std::optional<int32_t> find(std::string_view token) const;
    void encode(std::string_view text, bool add_special, std::vector<int32_t>& ids) const;
    std::string decode(std::span<const int32_t> ids, bool skip_special) const;  // raw bytes, no clean-up
};

// transformers' clean_up_tokenization, in place (tokenizers/cleanup.cpp).
void clean_up_tokenization(std::string& text);
// Length of the prefix of not-yet-emitted decoded text that clean-up can no longer change whatever
// text follows; the rest must wait for more tokens (or the end of the stream).
size_t cleanup_stable_prefix(std::string_view pending);

}  // namespace janus::tok_detail
