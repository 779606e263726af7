// Added-token matching (see added_tokens.h): a byte trie scanned left to right; at each position the
// longest token wins; single_word rejects matches glued to word characters; lstrip / rstrip widen a
// match over neighbouring whitespace so that it is swallowed by the token.
#include "tokenizers/added_tokens.h"

#include <algorithm>

#include "tokenizers/unicode.h"

namespace janus::tok_detail {

int32_t AddedMatcher::child(int32_t node, unsigned char c) const {
    const auto& v = nodes_[size_t(node)].next;
    auto it = std::lower_bound(v.begin(), v.end(), std::make_pair(c, int32_t(-1)));
    return (it != v.end() && it->first == c) ? it->second : -1;
}

void AddedMatcher::build(const std::vector<const AddedToken*>& tokens) {
    tokens_ = tokens;
    nodes_.assign(1, Node{});
    std::fill(std::begin(first_byte_), std::end(first_byte_), false);
    for (size_t t = 0; t < tokens_.size(); ++t) {
        const std::string& s = tokens_[t]->content;
        if (s.empty()) continue;
        first_byte_[static_cast<unsigned char>(s[0])] = true;
        int32_t node = 0;
        for (unsigned char c : s) {
            int32_t nx = child(node, c);
            if (nx < 0) {
                nx = int32_t(nodes_.size());
                nodes_.push_back(Node{});
                auto& v = nodes_[size_t(node)].next;
                v.insert(std::lower_bound(v.begin(), v.end(), std::make_pair(c, int32_t(-1))), {c, nx});
            }
            node = nx;
        }
        if (nodes_[size_t(node)].token < 0) nodes_[size_t(node)].token = int32_t(t);
    }
}

namespace {
int32_t char_before(std::string_view s, size_t pos) {
    if (pos == 0) return -1;
    size_t p = pos - 1;
    while (p > 0 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
    int len;
    return utf8_decode(s, p, &len);
}
int32_t char_at(std::string_view s, size_t pos) {
    if (pos >= s.size()) return -1;
    int len;
    return utf8_decode(s, pos, &len);
}
}  // namespace

void AddedMatcher::split(std::string_view text, std::vector<Segment>& out) const {
    out.clear();
    size_t text_start = 0;  // start of the pending text segment
    size_t i = 0;
    while (i < text.size()) {
        if (!first_byte_[static_cast<unsigned char>(text[i])]) { ++i; continue; }
        int32_t node = 0, best = -1;
        size_t best_end = 0;
        for (size_t k = i; k < text.size(); ++k) {
            node = child(node, static_cast<unsigned char>(text[k]));
            if (node < 0) break;
            if (nodes_[size_t(node)].token >= 0) {
                best = nodes_[size_t(node)].token;
                best_end = k + 1;
            }
        }
        if (best < 0) { ++i; continue; }
        const AddedToken& tok = *tokens_[size_t(best)];
        size_t start = i, stop = best_end;
        if (tok.single_word) {
            int32_t before = char_before(text, start), after = char_at(text, stop);
            bool ok_before = before < 0 || !is_alphanumeric(before);
            bool ok_after = after < 0 || !is_alphanumeric(after);
            if (!ok_before || !ok_after) { i = best_end; continue; }
        }
        if (tok.lstrip) {
            size_t s = start;
            while (s > text_start) {
                size_t p = s - 1;
                while (p > text_start && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
                int len;
                if (!is_whitespace(utf8_decode(text, p, &len))) break;
                s = p;
            }
            start = s;
        }
        if (tok.rstrip) {
            while (stop < text.size()) {
                int len;
                int32_t cp = utf8_decode(text, stop, &len);
                if (!is_whitespace(cp)) break;
                stop += size_t(len);
            }
        }
        out.push_back({text_start, start, -1});
        out.push_back({start, stop, tok.id});
        text_start = stop;
        i = stop;
    }
    out.push_back({text_start, text.size(), -1});
}

}  // namespace janus::tok_detail
