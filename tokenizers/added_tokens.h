// Added tokens (tokenizer.json "added_tokens"): found in the text before the model runs, longest
// match first (leftmost-longest, like the reference's Aho-Corasick), with the lstrip / rstrip /
// single_word options. Tokens with normalized=true are matched in the normalized text.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace janus::tok_detail {

struct AddedToken {
    int32_t id = -1;
    std::string content;
    bool special = false, lstrip = false, rstrip = false, single_word = false, normalized = false;
};

// A piece of the input: either plain text (id < 0) or one added token (id >= 0).
struct Segment {
    size_t begin, end;  // byte range in the searched string
    int32_t id;
};

class AddedMatcher {
public:
    // `tokens` are the ones this matcher looks for (contents as they appear in the searched text).
    void build(const std::vector<const AddedToken*>& tokens);
    bool empty() const { return tokens_.empty(); }
    // Splits `text` into text and token segments (text segments may be empty; callers skip them).
    void split(std::string_view text, std::vector<Segment>& out) const;

private:
    struct Node {
        std::vector<std::pair<unsigned char, int32_t>> next;  // sorted by byte
        int32_t token = -1;                                   // index into tokens_ ending here
    };
    int32_t child(int32_t node, unsigned char c) const;
    std::vector<Node> nodes_;
    std::vector<const AddedToken*> tokens_;
    bool first_byte_[256] = {};
};

}  // namespace janus::tok_detail
