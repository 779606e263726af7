// Byte-pair-encoding model of tokenizer.json ("model": {"type": "BPE", ...}): vocabulary, ranked
// merges, byte_fallback, unk/fuse_unk, ignore_merges, continuing_subword_prefix, end_of_word_suffix.
// encode_word() turns one pre-tokenized word (already in the vocabulary's alphabet, e.g. GPT-2
// bytes-as-chars) into ids with the same merge order as the Rust `tokenizers` library (min rank,
// then leftmost), caching results per word. Token strings live in one arena; lookups use an
// open-addressing hash table (loading 150k tokens + merges must stay well under 0.5 s).
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizers/components.h"
#include "tokenizers/json_load.h"

namespace janus::tok_detail {

uint64_t hash_bytes(std::string_view s);

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return size_t(hash_bytes(s)); }
};

class BpeModel {
public:
    // `model` is the JSON object at `where`; vocab / merges come from `raw` when the loader streamed
    // them (raw.has_vocab / raw.has_merges), else from the JSON. `raw` is consumed.
    BpeModel(const json& model, const std::string& where, RawModel&& raw);

    void encode_word(std::string_view word, std::vector<int32_t>& out) const;

    int32_t find(std::string_view token) const;  // -1 when absent
    // Number of model ids (max id + 1); token(id) is "" for holes.
    int32_t id_count() const { return int32_t(by_id_.size()); }
    std::string_view token(int32_t id) const;
    const std::string& unk_token() const { return unk_token_; }

private:
    void insert_token(StrRef ref, int32_t id);
    void build_merges(const json& model, const std::string& where, const RawModel& raw);
    void merge_word(std::string_view word, std::vector<int32_t>& out) const;
    struct MergeInfo {
        int32_t rank, new_id;
    };
    const MergeInfo* find_merge(int32_t a, int32_t b) const;

    std::string arena_;
    std::vector<StrRef> by_id_;
    std::vector<int32_t> slots_;  // open addressing: id or -1
    std::vector<uint32_t> slot_hash_;
    struct MergeSlot {
        uint64_t key;
        MergeInfo info;
    };
    std::vector<MergeSlot> merge_slots_;

    std::string unk_token_, prefix_, suffix_;
    int32_t unk_id_ = -1;
    bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
    int32_t byte_ids_[256];  // "<0xNN>" ids for byte_fallback (-1 when absent)

    mutable std::mutex cache_mu_;
    mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace janus::tok_detail
