// Pre-tokenizers from tokenizer.json "pre_tokenizer": Split (Oniguruma regex or literal, five
// delimiter behaviours, invert), ByteLevel (GPT-2 regex, add_prefix_space, byte→char mapping),
// Digits, Metaspace, Whitespace, WhitespaceSplit, Punctuation, Sequence. Each turns a list of text
// pieces into a finer list, with the semantics of the Hugging Face `tokenizers` library.
#include <algorithm>
#include <functional>
#include <utility>

#include "janus/error.h"
#include "tokenizers/components.h"
#include "tokenizers/regex.h"
#include "tokenizers/unicode.h"

namespace janus::tok_detail {

namespace {

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parse_behavior(const json& j, const std::string& where, Behavior dflt) {
    std::string b = jstr(j, "behavior", where, "");
    if (b.empty()) return dflt;
    if (b == "Removed") return Behavior::Removed;
    if (b == "Isolated") return Behavior::Isolated;
    if (b == "MergedWithPrevious") return Behavior::MergedWithPrevious;
    if (b == "MergedWithNext") return Behavior::MergedWithNext;
    if (b == "Contiguous") return Behavior::Contiguous;
    json_fail(where + ".behavior", "unknown split behavior \"" + b + "\"");
}

struct Span {
    size_t b, e;
    bool match;
};

// Turns matches [b,e) of `text` into a full covering of spans flagged match/non-match.
void cover(std::string_view text, const std::vector<std::pair<size_t, size_t>>& m, bool invert, std::vector<Span>& out) {
    out.clear();
    size_t prev = 0;
    for (auto [b, e] : m) {
        if (prev != b) out.push_back({prev, b, invert});
        out.push_back({b, e, !invert});
        prev = e;
    }
    if (prev != text.size()) out.push_back({prev, text.size(), invert});
}

// Applies a split behaviour to the covering spans of one piece and appends the resulting pieces.
void split_into(Piece& piece, std::vector<Span>& spans, Behavior beh, std::vector<Piece>& out) {
    std::vector<std::pair<size_t, size_t>> parts;
    parts.reserve(spans.size());
    switch (beh) {
        case Behavior::Isolated:
            for (auto& s : spans) parts.emplace_back(s.b, s.e);
            break;
        case Behavior::Removed:
            for (auto& s : spans)
                if (!s.match) parts.emplace_back(s.b, s.e);
            break;
        case Behavior::Contiguous: {
            bool prev_match = false;
            for (auto& s : spans) {
                if (s.match == prev_match && !parts.empty()) parts.back().second = s.e;
                else parts.emplace_back(s.b, s.e);
                prev_match = s.match;
            }
            break;
        }
        case Behavior::MergedWithPrevious: {
            bool prev_match = false;
            for (auto& s : spans) {
                if (s.match && !prev_match && !parts.empty()) parts.back().second = s.e;
                else parts.emplace_back(s.b, s.e);
                prev_match = s.match;
            }
            break;
        }
        case Behavior::MergedWithNext: {
            bool prev_match = false;
            for (size_t k = spans.size(); k-- > 0;) {
                auto& s = spans[k];
                if (s.match && !prev_match && !parts.empty()) parts.back().first = s.b;
                else parts.emplace_back(s.b, s.e);
                prev_match = s.match;
            }
            std::reverse(parts.begin(), parts.end());
            break;
        }
    }
    if (parts.size() == 1 && parts[0].first == 0 && parts[0].second == piece.text.size()) {
        if (!piece.text.empty()) out.push_back(std::move(piece));  // unchanged: no copy
        return;
    }
    for (auto [b, e] : parts) {
        if (e <= b) continue;
        out.push_back({piece.text.substr(b, e - b), piece.at_origin && b == 0});
    }
}

// Split by a per-character predicate; each matching char is its own match.
void char_split(std::vector<Piece>& pieces, const std::function<bool(int32_t)>& pred, Behavior beh) {
    std::vector<Piece> out;
    out.reserve(pieces.size() * 2);
    std::vector<std::pair<size_t, size_t>> m;
    std::vector<Span> spans;
    for (auto& p : pieces) {
        m.clear();
        const std::string& t = p.text;
        for (size_t i = 0; i < t.size();) {
            int len;
            int32_t cp = utf8_decode(t, i, &len);
            if (pred(cp)) m.emplace_back(i, i + size_t(len));
            i += size_t(len);
        }
        if (m.empty() && beh != Behavior::Removed) { out.push_back(std::move(p)); continue; }
        cover(t, m, false, spans);
        split_into(p, spans, beh, out);
    }
    pieces = std::move(out);
}

struct Split : PreTokenizer {
    std::unique_ptr<Regex> re;
    std::string literal;
    Behavior beh = Behavior::Isolated;
    bool invert = false;
    void apply(std::vector<Piece>& pieces) const override {
        std::vector<Piece> out;
        out.reserve(pieces.size() * 4);
        std::vector<std::pair<size_t, size_t>> m;
        std::vector<Span> spans;
        for (auto& p : pieces) {
            if (re) {
                re->find_all(p.text, m);
            } else {
                m.clear();
                if (!literal.empty())
                    for (size_t f = 0; (f = p.text.find(literal, f)) != std::string::npos; f += literal.size())
                        m.emplace_back(f, f + literal.size());
            }
            cover(p.text, m, invert, spans);
            split_into(p, spans, beh, out);
        }
        pieces = std::move(out);
    }
};

const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct ByteLevel : PreTokenizer {
    bool add_prefix_space = true;
    bool use_regex = true;
    std::unique_ptr<Regex> re;
    void apply(std::vector<Piece>& pieces) const override {
        if (add_prefix_space)
            for (auto& p : pieces)
                if (p.text.empty() || p.text[0] != ' ') p.text = " " + p.text;  // (insert() trips a GCC 12 -Wrestrict false positive)
        if (use_regex) {
            std::vector<Piece> out;
            std::vector<std::pair<size_t, size_t>> m;
            std::vector<Span> spans;
            for (auto& p : pieces) {
                re->find_all(p.text, m);
                cover(p.text, m, false, spans);
                split_into(p, spans, Behavior::Isolated, out);
            }
            pieces = std::move(out);
        }
        // The byte → char mapping itself is done by the tokenizer just before the model
        // (byte_level_map), so that raw-byte escapes can be honoured.
    }
    bool byte_level() const override { return true; }
};

struct Digits : PreTokenizer {
    bool individual = false;
    void apply(std::vector<Piece>& pieces) const override {
        char_split(pieces, is_numeric, individual ? Behavior::Isolated : Behavior::Contiguous);
    }
};

struct Metaspace : PreTokenizer {
    std::string rep = "\xE2\x96\x81";  // ▁
    enum class Scheme { Always, First, Never } scheme = Scheme::Always;
    bool split = true;
    void apply(std::vector<Piece>& pieces) const override {
        std::vector<Piece> out;
        std::vector<std::pair<size_t, size_t>> m;
        std::vector<Span> spans;
        for (auto& p : pieces) {
            std::string t;
            t.reserve(p.text.size() + 8);
            for (char c : p.text) {
                if (c == ' ') t += rep;
                else t.push_back(c);
            }
            bool starts = t.compare(0, rep.size(), rep) == 0;
            if (!starts && (scheme == Scheme::Always || (scheme == Scheme::First && p.at_origin))) t.insert(0, rep);
            p.text = std::move(t);
            if (!split) { out.push_back(std::move(p)); continue; }
            m.clear();
            for (size_t f = 0; (f = p.text.find(rep, f)) != std::string::npos; f += rep.size())
                m.emplace_back(f, f + rep.size());
            cover(p.text, m, false, spans);
            split_into(p, spans, Behavior::MergedWithNext, out);
        }
        pieces = std::move(out);
    }
};

struct Whitespace : PreTokenizer {
    Regex re{R"(\w+|[^\w\s]+)", "Whitespace"};
    void apply(std::vector<Piece>& pieces) const override {
        std::vector<Piece> out;
        std::vector<std::pair<size_t, size_t>> m;
        std::vector<Span> spans;
        for (auto& p : pieces) {
            re.find_all(p.text, m);
            cover(p.text, m, true, spans);  // inverted: the gaps are the "matches"
            split_into(p, spans, Behavior::Removed, out);
        }
        pieces = std::move(out);
    }
};

struct WhitespaceSplit : PreTokenizer {
    void apply(std::vector<Piece>& pieces) const override { char_split(pieces, is_whitespace, Behavior::Removed); }
};

struct Punctuation : PreTokenizer {
    Behavior beh = Behavior::Isolated;
    void apply(std::vector<Piece>& pieces) const override { char_split(pieces, is_punctuation, beh); }
};

struct PreSequence : PreTokenizer {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    void apply(std::vector<Piece>& pieces) const override {
        for (auto& p : parts) p->apply(pieces);
    }
    bool byte_level() const override {
        for (auto& p : parts)
            if (p->byte_level()) return true;
        return false;
    }
};

}  // namespace

void byte_level_map(std::string_view in, std::string& out, bool escapes) {
    const auto& chars = byte_chars();
    out.clear();
    out.reserve(in.size() * 2);
    for (size_t i = 0; i < in.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(in[i]);
        if (escapes && c == 0xF3) {
            int len;
            int32_t cp = utf8_decode(in, i, &len);
            if (cp >= kRawByteBase && cp < kRawByteBase + 256) {
                out += chars[size_t(cp - kRawByteBase)];
                i += size_t(len) - 1;
                continue;
            }
        }
        out += chars[c];
    }
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const std::string& where) {
    std::string type = jstr(j, "type", where, "");
    if (type.empty()) json_fail(where + ".type", "required field is missing");
    if (type == "Split") {
        auto r = std::make_unique<Split>();
        const json& p = jget(j, "pattern", where);
        if (p.is_object() && p.contains("String") && p["String"].is_string())
            r->literal = p["String"].get<std::string>();
        else if (p.is_object() && p.contains("Regex") && p["Regex"].is_string())
            r->re = std::make_unique<Regex>(p["Regex"].get<std::string>(), where + ".pattern.Regex");
        else
            json_fail(where + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
        if (!j.contains("behavior")) json_fail(where + ".behavior", "required field is missing");
        r->beh = parse_behavior(j, where, Behavior::Isolated);
        r->invert = jbool(j, "invert", where, false);
        return r;
    }
    if (type == "ByteLevel") {
        auto r = std::make_unique<ByteLevel>();
        r->add_prefix_space = jbool(j, "add_prefix_space", where, true);
        r->use_regex = jbool(j, "use_regex", where, true);
        if (r->use_regex) r->re = std::make_unique<Regex>(kGpt2Pattern, where + " (ByteLevel regex)");
        return r;
    }
    if (type == "Digits") {
        auto r = std::make_unique<Digits>();
        r->individual = jbool(j, "individual_digits", where, false);
        return r;
    }
    if (type == "Metaspace") {
        auto r = std::make_unique<Metaspace>();
        std::string rep = jstr(j, "replacement", where, "\xE2\x96\x81");
        int len = 0;
        if (rep.empty() || utf8_decode(rep, 0, &len) < 0 || size_t(len) != rep.size())
            json_fail(where + ".replacement", "expected a single character");
        r->rep = rep;
        std::string scheme = jstr(j, "prepend_scheme", where, "");
        if (scheme.empty()) {
            r->scheme = jbool(j, "add_prefix_space", where, true) ? Metaspace::Scheme::Always : Metaspace::Scheme::Never;
        } else if (scheme == "always") {
            r->scheme = Metaspace::Scheme::Always;
        } else if (scheme == "first") {
            r->scheme = Metaspace::Scheme::First;
        } else if (scheme == "never") {
            r->scheme = Metaspace::Scheme::Never;
        } else {
            json_fail(where + ".prepend_scheme", "expected \"always\", \"first\" or \"never\", got \"" + scheme + "\"");
        }
        r->split = jbool(j, "split", where, true);
        return r;
    }
    if (type == "Whitespace") return std::make_unique<Whitespace>();
    if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplit>();
    if (type == "Punctuation") {
        auto r = std::make_unique<Punctuation>();
        r->beh = parse_behavior(j, where, Behavior::Isolated);
        return r;
    }
    if (type == "Sequence") {
        auto r = std::make_unique<PreSequence>();
        const json& arr = jget(j, "pretokenizers", where);
        if (!arr.is_array()) json_fail(where + ".pretokenizers", "expected an array");
        for (size_t i = 0; i < arr.size(); ++i)
            r->parts.push_back(make_pre_tokenizer(arr[i], where + ".pretokenizers[" + std::to_string(i) + "]"));
        return r;
    }
    json_fail(where + ".type", "unsupported pre-tokenizer \"" + type +
                                   "\" (supported: Split, ByteLevel, Digits, Metaspace, Whitespace, "
                                   "WhitespaceSplit, Punctuation, Sequence)");
}

}  // namespace janus::tok_detail
