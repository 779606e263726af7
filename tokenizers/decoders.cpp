// Decoders (token strings → text) and post-processors (ids → ids with special tokens) from
// tokenizer.json "decoder" and "post_processor". Decoders: ByteLevel, Metaspace, ByteFallback, Fuse,
// Strip, Replace, Sequence. Post-processors: TemplateProcessing (single-sequence template),
// ByteLevel (no effect on ids), BertProcessing, RobertaProcessing, Sequence.
#include <utility>

#include "janus/error.h"
#include "tokenizers/components.h"
#include "tokenizers/regex.h"
#include "tokenizers/unicode.h"

namespace janus::tok_detail {

namespace {

// All tokens → one string of bytes: chars of the GPT-2 alphabet become their byte; a token with any
// char outside the alphabet (an added token such as "<｜end▁of▁sentence｜>") is kept verbatim.
// The result may be invalid UTF-8; the caller repairs it (lossy) at the end.
struct ByteLevelDec : Decoder {
    void apply(std::vector<std::string>& tokens) const override {
        std::string out;
        std::string buf;
        for (auto& t : tokens) {
            buf.clear();
            bool ok = true;
            for (size_t i = 0; i < t.size();) {
                int len;
                int32_t cp = utf8_decode(t, i, &len);
                int b = cp_to_byte(cp);
                if (b < 0) { ok = false; break; }
                buf.push_back(char(b));
                i += size_t(len);
            }
            out += ok ? buf : t;
        }
        tokens.assign(1, std::move(out));
    }
};

struct MetaspaceDec : Decoder {
    std::string rep;
    bool strip_first = true;  // prepend_scheme != never
    void apply(std::vector<std::string>& tokens) const override {
        for (size_t i = 0; i < tokens.size(); ++i) {
            std::string out;
            const std::string& t = tokens[i];
            for (size_t p = 0; p < t.size();) {
                if (t.compare(p, rep.size(), rep) == 0) {
                    out.push_back(' ');
                    p += rep.size();
                } else {
                    out.push_back(t[p++]);
                }
            }
            if (i == 0 && strip_first && !out.empty() && out[0] == ' ') out.erase(0, 1);
            tokens[i] = std::move(out);
        }
    }
};

int parse_byte_token(const std::string& t) {  // "<0x41>" → 0x41, else -1
    if (t.size() != 6 || t[0] != '<' || t[1] != '0' || t[2] != 'x' || t[5] != '>') return -1;
    auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    int h = hex(t[3]), l = hex(t[4]);
    return (h < 0 || l < 0) ? -1 : h * 16 + l;
}

struct ByteFallbackDec : Decoder {
    void apply(std::vector<std::string>& tokens) const override {
        std::vector<std::string> out;
        std::string bytes;
        size_t nbytes = 0;
        auto flush = [&] {
            if (!nbytes) return;
            if (utf8_valid(bytes)) out.push_back(bytes);
            else
                for (size_t k = 0; k < nbytes; ++k) out.emplace_back("\xEF\xBF\xBD");
            bytes.clear();
            nbytes = 0;
        };
        for (auto& t : tokens) {
            int b = parse_byte_token(t);
            if (b >= 0) {
                bytes.push_back(char(b));
                ++nbytes;
            } else {
                flush();
                out.push_back(std::move(t));
            }
        }
        flush();
        tokens = std::move(out);
    }
};

struct FuseDec : Decoder {
    void apply(std::vector<std::string>& tokens) const override {
        std::string out;
        for (auto& t : tokens) out += t;
        tokens.assign(1, std::move(out));
    }
};

struct StripDec : Decoder {
    std::string content;
    size_t start = 0, stop = 0;
    void apply(std::vector<std::string>& tokens) const override {
        for (auto& t : tokens) {
            size_t b = 0, e = t.size();
            for (size_t k = 0; k < start && b < e && t.compare(b, content.size(), content) == 0; ++k) b += content.size();
            for (size_t k = 0; k < stop && e >= b + content.size() && t.compare(e - content.size(), content.size(), content) == 0; ++k)
                e -= content.size();
            t = t.substr(b, e - b);
        }
    }
};

struct ReplaceDec : Decoder {
    std::string literal;
    std::unique_ptr<Regex> re;
    std::string content;
    void apply(std::vector<std::string>& tokens) const override {
        for (auto& t : tokens) {
            std::vector<std::pair<size_t, size_t>> m;
            if (re) {
                if (!utf8_valid(t)) continue;
                re->find_all(t, m);
            } else if (!literal.empty()) {
                for (size_t f = 0; (f = t.find(literal, f)) != std::string::npos; f += literal.size())
                    m.emplace_back(f, f + literal.size());
            }
            if (m.empty()) continue;
            std::string out;
            size_t pos = 0;
            for (auto [b, e] : m) {
                out.append(t, pos, b - pos);
                out += content;
                pos = e;
            }
            out.append(t, pos, std::string::npos);
            t = std::move(out);
        }
    }
};

struct DecSequence : Decoder {
    std::vector<std::unique_ptr<Decoder>> parts;
    void apply(std::vector<std::string>& tokens) const override {
        for (auto& p : parts) p->apply(tokens);
    }
};

// ---- post-processors ----

struct Affix : PostProcessor {
    std::vector<int32_t> pre, post;
    std::vector<int32_t> apply(std::vector<int32_t> ids) const override {
        if (pre.empty() && post.empty()) return ids;
        std::vector<int32_t> out;
        out.reserve(ids.size() + pre.size() + post.size());
        out.insert(out.end(), pre.begin(), pre.end());
        out.insert(out.end(), ids.begin(), ids.end());
        out.insert(out.end(), post.begin(), post.end());
        return out;
    }
    void affixes(std::vector<int32_t>& p, std::vector<int32_t>& s) const override {
        p.insert(p.end(), pre.begin(), pre.end());
        s.insert(s.end(), post.begin(), post.end());
    }
};

struct PostSequence : PostProcessor {
    std::vector<std::unique_ptr<PostProcessor>> parts;
    std::vector<int32_t> apply(std::vector<int32_t> ids) const override {
        for (auto& p : parts) ids = p->apply(std::move(ids));
        return ids;
    }
    void affixes(std::vector<int32_t>& pre, std::vector<int32_t>& suf) const override {
        // Later processors wrap the result of earlier ones.
        for (auto& p : parts) {
            std::vector<int32_t> a, b;
            p->affixes(a, b);
            pre.insert(pre.begin(), a.begin(), a.end());
            suf.insert(suf.end(), b.begin(), b.end());
        }
    }
};

std::unique_ptr<Affix> template_processing(const json& j, const std::string& where, const TokenLookup& vocab) {
    auto r = std::make_unique<Affix>();
    const json& single = jget(j, "single", where);
    if (!single.is_array()) json_fail(where + ".single", "expected an array");
    const json* specials = j.contains("special_tokens") ? &j["special_tokens"] : nullptr;
    bool seen_a = false;
    for (size_t i = 0; i < single.size(); ++i) {
        std::string w = where + ".single[" + std::to_string(i) + "]";
        const json& piece = single[i];
        if (piece.is_object() && piece.contains("Sequence")) {
            if (seen_a) json_fail(w, "template uses the sequence twice; only one $A is supported");
            seen_a = true;
        } else if (piece.is_object() && piece.contains("SpecialToken")) {
            std::string id = jstr(piece["SpecialToken"], "id", w + ".SpecialToken", "");
            std::vector<int32_t> ids;
            if (specials && specials->is_object() && specials->contains(id)) {
                const json& st = (*specials)[id];
                const json& arr = jget(st, "ids", where + ".special_tokens." + id);
                if (!arr.is_array()) json_fail(where + ".special_tokens." + id + ".ids", "expected an array of ids");
                for (auto& x : arr) {
                    if (!x.is_number_integer()) json_fail(where + ".special_tokens." + id + ".ids", "expected integer ids");
                    ids.push_back(x.get<int32_t>());
                }
            } else {
                ids.push_back(vocab.id_of(id, w + ".SpecialToken.id"));
            }
            auto& dst = seen_a ? r->post : r->pre;
            dst.insert(dst.end(), ids.begin(), ids.end());
        } else {
            json_fail(w, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
        }
    }
    if (!seen_a) json_fail(where + ".single", "template has no {\"Sequence\": {\"id\": \"A\"}} entry");
    return r;
}

std::unique_ptr<Affix> pair_processing(const json& j, const char* a, const char* b, const std::string& where,
                                       const TokenLookup& vocab) {
    auto r = std::make_unique<Affix>();
    for (const char* key : {a, b}) {
        const json& p = jget(j, key, where);
        if (!p.is_array() || p.size() != 2 || !p[0].is_string())
            json_fail(where + "." + key, "expected [\"token\", id]");
        int32_t id = vocab.id_of(p[0].get<std::string>(), where + "." + key);
        (key == a ? r->pre : r->post).push_back(id);
    }
    return r;
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const json& j, const std::string& where) {
    std::string type = jstr(j, "type", where, "");
    if (type.empty()) json_fail(where + ".type", "required field is missing");
    if (type == "ByteLevel") return std::make_unique<ByteLevelDec>();
    if (type == "Metaspace") {
        auto r = std::make_unique<MetaspaceDec>();
        r->rep = jstr(j, "replacement", where, "\xE2\x96\x81");
        std::string scheme = jstr(j, "prepend_scheme", where, "");
        if (scheme.empty()) r->strip_first = jbool(j, "add_prefix_space", where, true);
        else r->strip_first = scheme != "never";
        return r;
    }
    if (type == "ByteFallback") return std::make_unique<ByteFallbackDec>();
    if (type == "Fuse") return std::make_unique<FuseDec>();
    if (type == "Strip") {
        auto r = std::make_unique<StripDec>();
        r->content = jstr(j, "content", where, " ");
        r->start = size_t(jint(j, "start", where, 0));
        r->stop = size_t(jint(j, "stop", where, 0));
        return r;
    }
    if (type == "Replace") {
        auto r = std::make_unique<ReplaceDec>();
        const json& p = jget(j, "pattern", where);
        if (p.is_object() && p.contains("String") && p["String"].is_string())
            r->literal = p["String"].get<std::string>();
        else if (p.is_object() && p.contains("Regex") && p["Regex"].is_string())
            r->re = std::make_unique<Regex>(p["Regex"].get<std::string>(), where + ".pattern.Regex");
        else
            json_fail(where + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
        r->content = jstr(j, "content", where, "");
        return r;
    }
    if (type == "Sequence") {
        auto r = std::make_unique<DecSequence>();
        const json& arr = jget(j, "decoders", where);
        if (!arr.is_array()) json_fail(where + ".decoders", "expected an array");
        for (size_t i = 0; i < arr.size(); ++i)
            r->parts.push_back(make_decoder(arr[i], where + ".decoders[" + std::to_string(i) + "]"));
        return r;
    }
    json_fail(where + ".type", "unsupported decoder \"" + type +
                                   "\" (supported: ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence)");
}

std::unique_ptr<PostProcessor> make_post_processor(const json& j, const std::string& where, const TokenLookup& vocab) {
    std::string type = jstr(j, "type", where, "");
    if (type.empty()) json_fail(where + ".type", "required field is missing");
    if (type == "TemplateProcessing") return template_processing(j, where, vocab);
    if (type == "ByteLevel") return std::make_unique<Affix>();  // offsets only; ids unchanged
    if (type == "BertProcessing") return pair_processing(j, "cls", "sep", where, vocab);
    if (type == "RobertaProcessing") return pair_processing(j, "cls", "sep", where, vocab);
    if (type == "Sequence") {
        auto r = std::make_unique<PostSequence>();
        const json& arr = jget(j, "processors", where);
        if (!arr.is_array()) json_fail(where + ".processors", "expected an array");
        for (size_t i = 0; i < arr.size(); ++i)
            r->parts.push_back(make_post_processor(arr[i], where + ".processors[" + std::to_string(i) + "]", vocab));
        return r;
    }
    json_fail(where + ".type", "unsupported post-processor \"" + type +
                                   "\" (supported: TemplateProcessing, ByteLevel, BertProcessing, "
                                   "RobertaProcessing, Sequence)");
}

std::unique_ptr<PostProcessor> make_affix_processor(std::vector<int32_t> prefix, std::vector<int32_t> suffix) {
    auto r = std::make_unique<Affix>();
    r->pre = std::move(prefix);
    r->post = std::move(suffix);
    return r;
}

}  // namespace janus::tok_detail
