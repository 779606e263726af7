// Fast loading of tokenizer.json: a SAX pass (nlohmann) that builds the JSON tree for everything
// except the two huge arrays — model.vocab (100k–150k entries) and model.merges — which are streamed
// into a flat string arena instead. This keeps loading a 150k-vocabulary file well under 0.5 s.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizers/components.h"

namespace janus::tok_detail {

struct StrRef {
    uint32_t off, len;  // into RawModel::arena
};

struct RawModel {
    std::string arena;
    bool has_vocab = false, has_merges = false;
    std::vector<std::pair<StrRef, int64_t>> vocab;  // token, id (validated later)
    std::vector<std::pair<StrRef, StrRef>> merges;  // left, right
    std::string_view str(StrRef r) const { return std::string_view(arena).substr(r.off, r.len); }
};

// Parses tokenizer.json text. In the returned tree model.vocab / model.merges are null when they
// were streamed into `raw` (raw.has_vocab / raw.has_merges). Throws janus::Error with the JSON path
// for malformed JSON or malformed vocab / merges entries.
json parse_tokenizer_json(std::string_view text, const std::string& source, RawModel& raw);

}  // namespace janus::tok_detail
