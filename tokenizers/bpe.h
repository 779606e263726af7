// Byte-pair-encoding model of tokenizer.json ("model": {"type": "BPE", ...}): vocabulary, ranked
// merges, byte_fallback, unk/fuse_unk, ignore_merges, continuing_subword_prefix, end_of_word_suffix.
// encode_word() turns one pre-tokenized word (already in the vocabulary's alphabet, e.g. GPT-2
// bytes-as-chars) into ids with the same merge order as the Rust `tokenizers` library (min rank,
// then leftmost), caching results per word.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizers/components.h"

namespace janus::tok_detail {

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept;
};
using VocabMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
public:
    // `where` is the JSON path of the model object ("tokenizer.json: model").
    BpeModel(const json& model, const std::string& where);

    void encode_word(std::string_view word, std::vector<int32_t>& out) const;

    const VocabMap& vocab() const { return vocab_; }
    // id → spelling for model ids ("" for holes); size = max model id + 1.
    const std::vector<std::string>& id_to_token() const { return id_to_token_; }
    const std::string& unk_token() const { return unk_token_; }

private:
    void merge_word(std::string_view word, std::vector<int32_t>& out) const;

    VocabMap vocab_;
    std::vector<std::string> id_to_token_;
    struct MergeInfo {
        int32_t rank, new_id;
    };
    std::unordered_map<uint64_t, MergeInfo> merges_;
    std::string unk_token_, prefix_, suffix_;
    int32_t unk_id_ = -1;
    bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
    int32_t byte_ids_[256];  // "<0xNN>" ids for byte_fallback (-1 when absent)

    mutable std::mutex cache_mu_;
    mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace janus::tok_detail
