// transformers' clean_up_tokenization (tokenizer_config.json "clean_up_tokenization_spaces": true):
// after decoding, ten literal replacements, each over the whole text, left to right, non-overlapping,
// in this order: " ." → ".", " ?" → "?", " !" → "!", " ," → ",", " ' " → "'", " n't" → "n't",
// " 'm" → "'m", " 's" → "'s", " 've" → "'ve", " 're" → "'re" (the same list in @lenml/tokenizers).
// Text in, text out (UTF-8 bytes; every pattern is ASCII, so multi-byte characters pass untouched).
//
// Streaming: cleanup_stable_prefix() says how much of not-yet-emitted text can be cleaned and
// emitted now without a later token changing it (see the comment there).
#include <string>
#include <string_view>

#include "tokenizers/tokenizer_impl.h"

namespace janus::tok_detail {

void clean_up_tokenization(std::string& text) {
    static const std::pair<std::string_view, std::string_view> kRules[] = {
        {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (auto [from, to] : kRules) {
        size_t k = text.find(from);
        if (k == std::string::npos) continue;
        std::string r;
        r.reserve(text.size());
        size_t pos = 0;
        for (; k != std::string::npos; k = text.find(from, pos)) {
            r.append(text, pos, k - pos);
            r += to;
            pos = k + from.size();
        }
        r.append(text, pos, std::string::npos);
        text = std::move(r);
    }
}

// Every replacement (and every chain of them: " n ' t" → " n't" → "n't") only touches a contiguous
// run of characters from the patterns' alphabet that starts with a space; the first character of
// such a run that is outside the alphabet can never be part of one. So with R the run of alphabet
// characters at the end of `pending`, everything before R's first space is final: cleaning it now
// and the rest later gives the same text as cleaning everything at once. Without a space in R, all
// of `pending` is final (a run that later gains a space can only change from that space on).
size_t cleanup_stable_prefix(std::string_view pending) {
    static constexpr std::string_view kAlphabet = " .?!,'ntmsver";  // every character of the patterns
    auto in_alphabet = [](char c) { return kAlphabet.find(c) != std::string_view::npos; };
    size_t run = pending.size();
    while (run > 0 && in_alphabet(pending[run - 1])) --run;
    size_t space = pending.find(' ', run);
    return space == std::string_view::npos ? pending.size() : space;
}

}  // namespace janus::tok_detail
