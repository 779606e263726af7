// Oniguruma-backed regex for the tokenizer's Split / ByteLevel / Replace components. Oniguruma with
// its default syntax (ONIG_SYNTAX_ONIGURUMA, options none) and UTF-8 encoding is exactly what the
// Hugging Face `tokenizers` library compiles its patterns with (the onig crate's Regex::new), so
// `\p{L}`, `\s` (Unicode White_Space, without U+FEFF), `(?!\S)`, `(?i:...)` and `$` (also before a
// newline) behave identically. Input must be valid UTF-8.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace janus::tok_detail {

class Regex {
public:
    // Throws janus::Error("<where>: regex ... does not compile: <onig message>").
    Regex(const std::string& pattern, const std::string& where);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // All non-overlapping matches [start, end) in byte offsets, left to right, as the onig crate's
    // find_iter yields them (an empty match right after the previous match is skipped); a trailing
    // empty match at the very end is dropped (it cannot change a split).
    void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;
    const std::string& pattern() const { return pattern_; }

private:
    std::string pattern_;
    void* re_ = nullptr;  // OnigRegex
};

// Escapes a literal string so that it matches itself in an Oniguruma pattern.
std::string regex_escape(std::string_view s);

}  // namespace janus::tok_detail
