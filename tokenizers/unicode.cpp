// Unicode helpers for the tokenizer (see unicode.h): UTF-8 codec, character classes, utf8proc
// normalization and lowercasing, the GPT-2 byte-level alphabet.
#include "tokenizers/unicode.h"

#include <utf8proc.h>

#include <cstdlib>

#include "janus/error.h"

namespace janus::tok_detail {

size_t utf8_char_len(unsigned char c) {
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0) return 4;
    return 1;
}

int32_t utf8_decode(std::string_view s, size_t i, int* len) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
    size_t left = s.size() - i;
    unsigned char c = p[0];
    *len = 1;
    if (c < 0x80) return c;
    int n;
    int32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
    else return -1;
    if (left < size_t(n)) return -1;
    for (int k = 1; k < n; ++k) {
        if ((p[k] & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return -1;
    *len = n;
    return cp;
}

void utf8_append(std::string& out, int32_t cp) {
    if (cp < 0x80) {
        out.push_back(char(cp));
    } else if (cp < 0x800) {
        out.push_back(char(0xC0 | (cp >> 6)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(char(0xE0 | (cp >> 12)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(char(0xF0 | (cp >> 18)));
        out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    }
}

bool utf8_valid(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        if (static_cast<unsigned char>(s[i]) < 0x80) { ++i; continue; }
        int len;
        if (utf8_decode(s, i, &len) < 0) return false;
        i += size_t(len);
    }
    return true;
}

// Rust's from_utf8_lossy replaces each maximal invalid prefix ("substitution of maximal subparts")
// with one U+FFFD.
std::string utf8_lossy(std::string_view s) {
    if (utf8_valid(s)) return std::string(s);
    std::string out;
    out.reserve(s.size() + 8);
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t i = 0, n = s.size();
    while (i < n) {
        int len;
        int32_t cp = utf8_decode(s, i, &len);
        if (cp >= 0) { out.append(s.substr(i, size_t(len))); i += size_t(len); continue; }
        // Maximal subpart: a valid lead followed by valid continuation bytes, cut short.
        unsigned char c = p[i];
        size_t need = 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c == 0xE0) { need = 2; lo = 0xA0; }
        else if (c == 0xED) { need = 2; hi = 0x9F; }
        else if (c >= 0xE1 && c <= 0xEF) need = 2;
        else if (c == 0xF0) { need = 3; lo = 0x90; }
        else if (c == 0xF4) { need = 3; hi = 0x8F; }
        else if (c >= 0xF1 && c <= 0xF3) need = 3;
        size_t j = i + 1;
        for (size_t k = 0; k < need && j < n; ++k, ++j) {
            unsigned char d = p[j];
            if (k == 0 ? (d < lo || d > hi) : ((d & 0xC0) != 0x80)) break;
        }
        out += "\xEF\xBF\xBD";
        i = j;
    }
    return out;
}

size_t utf8_complete_prefix(std::string_view s) {
    // Look back at most 3 bytes for a lead byte whose sequence is cut off by the end of `s`.
    size_t n = s.size();
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
        unsigned char c = static_cast<unsigned char>(s[n - back]);
        if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking
        if (c >= 0xC0 && utf8_char_len(c) > back) return n - back;
        return n;
    }
    return n;
}

bool is_whitespace(int32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

bool is_numeric(int32_t c) {
    if (c < 0) return false;
    if (c < 0x80) return c >= '0' && c <= '9';
    auto cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

bool is_alphanumeric(int32_t c) {
    if (c < 0) return false;
    if (c < 0x80) return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    switch (utf8proc_category(c)) {
        case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
        case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
        case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO: case UTF8PROC_CATEGORY_MC:
            return true;
        default:
            return false;
    }
}

bool is_punctuation(int32_t c) {
    if (c < 0) return false;
    if (c < 0x80) return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
                         (c >= 0x7B && c <= 0x7E);
    switch (utf8proc_category(c)) {
        case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
        case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
        case UTF8PROC_CATEGORY_PO:
            return true;
        default:
            return false;
    }
}

namespace {
std::string utf8proc_norm(std::string_view s, int opts);

// NFC leaves a character alone when it is below U+0300 or a CJK unified ideograph (NFC_QC = Yes, and
// never the second element of a composition). Only the runs of other characters, together with the
// one character before each run (a possible composition starter), go through utf8proc.
std::string nfc_fast(std::string_view s) {
    auto safe = [](int32_t cp) { return cp >= 0 && (cp < 0x300 || (cp >= 0x4E00 && cp <= 0x9FFF)); };
    std::string out;
    out.reserve(s.size());
    size_t i = 0, n = s.size(), copied = 0;
    size_t prev_start = 0;  // start of the previous character
    while (i < n) {
        int len;
        int32_t cp = utf8_decode(s, i, &len);
        if (safe(cp)) { prev_start = i; i += size_t(len); continue; }
        // A run of unsafe characters starts at i; include the previous character.
        size_t run_begin = i > 0 ? prev_start : 0;
        size_t j = i;
        while (j < n) {
            int l2;
            int32_t c2 = utf8_decode(s, j, &l2);
            if (safe(c2)) break;
            j += size_t(l2);
        }
        out.append(s.substr(copied, run_begin - copied));
        out += utf8proc_norm(s.substr(run_begin, j - run_begin), UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        copied = j;
        i = j;
        prev_start = j;
    }
    out.append(s.substr(copied));
    return out;
}
}  // namespace

std::string normalize(std::string_view s, NormForm form) {
    bool ascii = true;
    for (char ch : s) if (static_cast<unsigned char>(ch) >= 0x80) { ascii = false; break; }
    if (ascii) return std::string(s);  // ASCII is invariant under all four forms
    int opts = UTF8PROC_STABLE;
    switch (form) {
        case NormForm::NFC: opts |= UTF8PROC_COMPOSE; break;
        case NormForm::NFD: opts |= UTF8PROC_DECOMPOSE; break;
        case NormForm::NFKC: opts |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
        case NormForm::NFKD: opts |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
    }
    if (form == NormForm::NFC && utf8_valid(s)) return nfc_fast(s);
    return utf8proc_norm(s, opts);
}

namespace {
std::string utf8proc_norm(std::string_view s, int opts) {
    std::string valid = utf8_lossy(s);  // utf8proc rejects invalid input
    utf8proc_uint8_t* out = nullptr;
    auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(valid.data()), utf8proc_ssize_t(valid.size()),
                          &out, utf8proc_option_t(opts));
    if (n < 0) throw Error(std::string("tokenizer: Unicode normalization failed: ") + utf8proc_errmsg(n));
    std::string r(reinterpret_cast<char*>(out), size_t(n));
    std::free(out);
    return r;
}
}  // namespace

std::string lowercase(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) { out.push_back(char(c >= 'A' && c <= 'Z' ? c + 32 : c)); ++i; continue; }
        int len;
        int32_t cp = utf8_decode(s, i, &len);
        if (cp < 0) { out.push_back(char(c)); ++i; continue; }
        if (cp == 0x130) { out += "i\xCC\x87"; }  // SpecialCasing: İ → i + combining dot above
        else utf8_append(out, utf8proc_tolower(cp));
        i += size_t(len);
    }
    return out;
}

namespace {
struct ByteTables {
    std::array<int32_t, 256> b2c{};
    std::array<std::string, 256> chars;
    std::array<int16_t, 324> c2b{};  // code points 0..323 cover the whole alphabet
    ByteTables() {
        c2b.fill(-1);
        int next = 256;
        for (int b = 0; b < 256; ++b) {
            bool keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            b2c[b] = keep ? b : next++;
            c2b[size_t(b2c[b])] = int16_t(b);
            utf8_append(chars[b], b2c[b]);
        }
    }
};
const ByteTables& tables() {
    static const ByteTables t;
    return t;
}
}  // namespace

const std::array<int32_t, 256>& byte_to_cp() { return tables().b2c; }
const std::array<std::string, 256>& byte_chars() { return tables().chars; }
int cp_to_byte(int32_t cp) { return (cp >= 0 && cp < 324) ? tables().c2b[size_t(cp)] : -1; }

}  // namespace janus::tok_detail
