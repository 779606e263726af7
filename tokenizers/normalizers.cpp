// Normalizers from tokenizer.json "normalizer": NFC/NFD/NFKC/NFKD (utf8proc), Lowercase, Replace
// (literal or Oniguruma regex), Prepend, Strip, Sequence. Also the shared JSON path helpers.
#include <utility>

#include "janus/error.h"
#include "tokenizers/components.h"
#include "tokenizers/regex.h"
#include "tokenizers/unicode.h"

namespace janus::tok_detail {

[[noreturn]] void json_fail(const std::string& where, const std::string& problem) {
    throw Error(where + ": " + problem);
}

const json& jget(const json& j, const char* key, const std::string& where) {
    if (!j.is_object()) json_fail(where, "expected a JSON object");
    auto it = j.find(key);
    if (it == j.end()) json_fail(where + "." + key, "required field is missing");
    return *it;
}

std::string jstr(const json& j, const char* key, const std::string& where, const std::string& dflt) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return dflt;
    if (!it->is_string()) json_fail(where + "." + key, "expected a string");
    return it->get<std::string>();
}

bool jbool(const json& j, const char* key, const std::string& where, bool dflt) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return dflt;
    if (!it->is_boolean()) json_fail(where + "." + key, "expected true or false");
    return it->get<bool>();
}

int64_t jint(const json& j, const char* key, const std::string& where, int64_t dflt) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return dflt;
    if (!it->is_number_integer()) json_fail(where + "." + key, "expected an integer");
    return it->get<int64_t>();
}

namespace {

struct UnicodeNorm : Normalizer {
    NormForm form;
    explicit UnicodeNorm(NormForm f) : form(f) {}
    void apply(std::string& s) const override { s = normalize(s, form); }
};

struct Lowercase : Normalizer {
    void apply(std::string& s) const override { s = lowercase(s); }
};

// Replace every occurrence of a literal or regex pattern with `content`.
struct Replace : Normalizer {
    std::string literal;
    std::unique_ptr<Regex> re;
    std::string content;
    void apply(std::string& s) const override {
        if (!re) {
            if (literal.empty()) return;
            std::string out;
            size_t pos = 0;
            for (size_t f; (f = s.find(literal, pos)) != std::string::npos; pos = f + literal.size()) {
                out.append(s, pos, f - pos);
                out += content;
            }
            if (pos == 0) return;
            out.append(s, pos, std::string::npos);
            s = std::move(out);
            return;
        }
        std::vector<std::pair<size_t, size_t>> m;
        re->find_all(s, m);
        if (m.empty()) return;
        std::string out;
        size_t pos = 0;
        for (auto [b, e] : m) {
            out.append(s, pos, b - pos);
            out += content;
            pos = e;
        }
        out.append(s, pos, std::string::npos);
        s = std::move(out);
    }
};

struct Prepend : Normalizer {
    std::string prefix;
    void apply(std::string& s) const override {
        if (!s.empty()) s.insert(0, prefix);
    }
};

struct Strip : Normalizer {
    bool left = true, right = true;
    void apply(std::string& s) const override {
        size_t b = 0, e = s.size();
        if (left) {
            while (b < e) {
                int len;
                int32_t cp = utf8_decode(s, b, &len);
                if (!is_whitespace(cp)) break;
                b += size_t(len);
            }
        }
        if (right) {
            while (e > b) {
                size_t p = e - 1;
                while (p > b && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
                int len;
                int32_t cp = utf8_decode(s, p, &len);
                if (!is_whitespace(cp)) break;
                e = p;
            }
        }
        s = s.substr(b, e - b);
    }
};

struct NormSequence : Normalizer {
    std::vector<std::unique_ptr<Normalizer>> parts;
    void apply(std::string& s) const override {
        for (auto& p : parts) p->apply(s);
    }
};

}  // namespace

// Reads a {"String": "..."} / {"Regex": "..."} pattern object.
static void read_pattern(const json& j, const std::string& where, std::string& literal, std::unique_ptr<Regex>& re) {
    const json& p = jget(j, "pattern", where);
    if (p.is_object() && p.contains("String") && p["String"].is_string()) {
        literal = p["String"].get<std::string>();
    } else if (p.is_object() && p.contains("Regex") && p["Regex"].is_string()) {
        re = std::make_unique<Regex>(p["Regex"].get<std::string>(), where + ".pattern.Regex");
    } else {
        json_fail(where + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
    }
}

std::unique_ptr<Normalizer> make_normalizer(const json& j, const std::string& where) {
    std::string type = jstr(j, "type", where, "");
    if (type.empty()) json_fail(where + ".type", "required field is missing");
    if (type == "NFC") return std::make_unique<UnicodeNorm>(NormForm::NFC);
    if (type == "NFD") return std::make_unique<UnicodeNorm>(NormForm::NFD);
    if (type == "NFKC") return std::make_unique<UnicodeNorm>(NormForm::NFKC);
    if (type == "NFKD") return std::make_unique<UnicodeNorm>(NormForm::NFKD);
    if (type == "Lowercase") return std::make_unique<Lowercase>();
    if (type == "Replace") {
        auto r = std::make_unique<Replace>();
        read_pattern(j, where, r->literal, r->re);
        r->content = jstr(j, "content", where, "");
        return r;
    }
    if (type == "Prepend") {
        auto r = std::make_unique<Prepend>();
        r->prefix = jstr(j, "prepend", where, "");
        return r;
    }
    if (type == "Strip") {
        auto r = std::make_unique<Strip>();
        r->left = jbool(j, "strip_left", where, true);
        r->right = jbool(j, "strip_right", where, true);
        return r;
    }
    if (type == "Sequence") {
        auto r = std::make_unique<NormSequence>();
        const json& arr = jget(j, "normalizers", where);
        if (!arr.is_array()) json_fail(where + ".normalizers", "expected an array");
        for (size_t i = 0; i < arr.size(); ++i)
            r->parts.push_back(make_normalizer(arr[i], where + ".normalizers[" + std::to_string(i) + "]"));
        return r;
    }
    json_fail(where + ".type", "unsupported normalizer \"" + type +
                                   "\" (supported: NFC, NFD, NFKC, NFKD, Lowercase, Replace, Prepend, Strip, Sequence)");
}

}  // namespace janus::tok_detail
