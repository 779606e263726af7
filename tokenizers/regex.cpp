// Oniguruma wrapper (see regex.h). One compiled OnigRegex per pattern; each find_all call uses its
// own (thread-local) region, so a Regex may be shared by threads.
#include "tokenizers/regex.h"

#include <oniguruma.h>

#include <cstdint>
#include <mutex>

#include "janus/error.h"
#include "tokenizers/unicode.h"

namespace janus::tok_detail {

namespace {
void onig_init_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        OnigEncoding enc[1] = {ONIG_ENCODING_UTF8};
        onig_initialize(enc, 1);
    });
}
}  // namespace

Regex::Regex(const std::string& pattern, const std::string& where) : pattern_(pattern) {
    onig_init_once();
    OnigRegex re = nullptr;
    OnigErrorInfo einfo;
    const auto* p = reinterpret_cast<const OnigUChar*>(pattern.data());
    int r = onig_new(&re, p, p + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8, ONIG_SYNTAX_ONIGURUMA, &einfo);
    if (r != ONIG_NORMAL) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, r, &einfo);
        throw Error(where + ": regex /" + pattern + "/ does not compile (" + reinterpret_cast<char*>(msg) +
                    "); fix the pattern in tokenizer.json");
    }
    re_ = re;
}

Regex::~Regex() {
    if (re_) onig_free(static_cast<OnigRegex>(re_));
}

namespace {
struct ScanState {
    std::vector<std::pair<size_t, size_t>>* out;
    size_t last_end = SIZE_MAX;
};
int on_match(int /*n*/, int /*pos*/, OnigRegion* region, void* arg) {
    auto* st = static_cast<ScanState*>(arg);
    auto b = size_t(region->beg[0]), e = size_t(region->end[0]);
    // Like the onig crate's find_iter: an empty match right where the previous match ended is
    // skipped (this also drops onig_scan's repeat of an empty match when it restarts there).
    if (b == e && st->last_end == e) return 0;
    st->out->emplace_back(b, e);
    st->last_end = e;
    return 0;
}
}  // namespace

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
    out.clear();
    if (text.empty()) return;
    auto re = static_cast<OnigRegex>(re_);
    // One region per thread, reused across calls (onig_scan resizes it as needed).
    struct RegionHolder {
        OnigRegion* r = onig_region_new();
        ~RegionHolder() { onig_region_free(r, 1); }
    };
    thread_local RegionHolder holder;
    const auto* start = reinterpret_cast<const OnigUChar*>(text.data());
    ScanState st{&out};
    // onig_scan finds all non-overlapping matches left to right, stepping one character past an
    // empty match, with one match context for the whole scan (much cheaper than onig_search calls).
    onig_scan(re, start, start + text.size(), holder.r, ONIG_OPTION_NONE, on_match, &st);
    // A trailing empty match at the very end cannot change any split, so it is dropped.
    if (!out.empty() && out.back().first == text.size()) out.pop_back();
}

std::string regex_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (std::string_view("\\^$.|?*+()[]{}-/#&~ \t\n\r\f\v").find(c) != std::string_view::npos) {
            switch (c) {
                case '\t': out += "\\t"; continue;
                case '\n': out += "\\n"; continue;
                case '\r': out += "\\r"; continue;
                case '\f': out += "\\f"; continue;
                case '\v': out += "\\v"; continue;
                case ' ': out += ' '; continue;
                default: out.push_back('\\');
            }
        }
        out.push_back(c);
    }
    return out;
}

}  // namespace janus::tok_detail
