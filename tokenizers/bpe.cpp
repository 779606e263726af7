// BPE model (see bpe.h). The merge loop keeps the word as a doubly linked list of symbols and a
// min-heap of candidate merges ordered by (rank, position), exactly like the reference library's
// Word::merge_all, so ties and stale entries resolve identically.
#include "tokenizers/bpe.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "janus/error.h"
#include "tokenizers/unicode.h"

namespace janus::tok_detail {

size_t StringHash::operator()(std::string_view s) const noexcept {
    // FNV-1a, 64-bit.
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return size_t(h ^ (h >> 29));
}

namespace {
constexpr size_t kCacheMax = 200000;
constexpr size_t kCacheWordMax = 256;  // longer words are not cached
}  // namespace

BpeModel::BpeModel(const json& model, const std::string& where) {
    std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
    std::string type = jstr(model, "type", where, "BPE");
    if (type != "BPE")
        json_fail(where + ".type", "unsupported model \"" + type + "\" (only BPE is supported)");
    if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"].is_number() &&
        model["dropout"].get<double>() != 0.0)
        json_fail(where + ".dropout", "BPE dropout is not supported for inference; set it to null");
    const json& vocab = jget(model, "vocab", where);
    if (!vocab.is_object()) json_fail(where + ".vocab", "expected an object {token: id}");
    vocab_.reserve(vocab.size() * 2);
    int32_t max_id = -1;
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 || it.value().get<int64_t>() > INT32_MAX)
            json_fail(where + ".vocab[\"" + it.key() + "\"]", "expected a non-negative integer id");
        int32_t id = it.value().get<int32_t>();
        vocab_.emplace(it.key(), id);
        max_id = std::max(max_id, id);
    }
    id_to_token_.assign(size_t(max_id + 1), std::string());
    for (auto& [tok, id] : vocab_) id_to_token_[size_t(id)] = tok;

    unk_token_ = jstr(model, "unk_token", where, "");
    prefix_ = jstr(model, "continuing_subword_prefix", where, "");
    suffix_ = jstr(model, "end_of_word_suffix", where, "");
    byte_fallback_ = jbool(model, "byte_fallback", where, false);
    fuse_unk_ = jbool(model, "fuse_unk", where, false);
    ignore_merges_ = jbool(model, "ignore_merges", where, false);
    if (!unk_token_.empty()) {
        auto it = vocab_.find(unk_token_);
        if (it == vocab_.end())
            json_fail(where + ".unk_token", "unk_token \"" + unk_token_ + "\" is not in the vocabulary");
        unk_id_ = it->second;
    }
    if (byte_fallback_) {
        for (int b = 0; b < 256; ++b) {
            char name[8];
            std::snprintf(name, sizeof name, "<0x%02X>", b);
            auto it = vocab_.find(std::string_view(name));
            if (it != vocab_.end()) byte_ids_[b] = it->second;
        }
    }

    const json& merges = jget(model, "merges", where);
    if (!merges.is_array()) json_fail(where + ".merges", "expected an array");
    merges_.reserve(merges.size() * 2);
    auto lookup = [&](std::string_view tok, const std::string& w) -> int32_t {
        auto it = vocab_.find(tok);
        if (it == vocab_.end()) json_fail(w, "merge names \"" + std::string(tok) + "\", which is not in model.vocab");
        return it->second;
    };
    std::string joined;
    for (size_t i = 0; i < merges.size(); ++i) {
        const json& m = merges[i];
        std::string_view a, b;
        std::string w = where + ".merges[" + std::to_string(i) + "]";
        const std::string* sp = nullptr;
        if (m.is_string()) {
            sp = m.get_ptr<const std::string*>();
            size_t s = sp->find(' ');
            if (s == std::string::npos || sp->find(' ', s + 1) != std::string::npos)
                json_fail(w, "expected \"left right\" (two tokens separated by one space), got \"" + *sp + "\"");
            a = std::string_view(*sp).substr(0, s);
            b = std::string_view(*sp).substr(s + 1);
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            a = *m[0].get_ptr<const std::string*>();
            b = *m[1].get_ptr<const std::string*>();
        } else {
            json_fail(w, "expected \"left right\" or [\"left\", \"right\"]");
        }
        int32_t ia = lookup(a, w), ib = lookup(b, w);
        std::string_view btail = b;
        if (!prefix_.empty() && btail.substr(0, prefix_.size()) == prefix_) btail.remove_prefix(prefix_.size());
        joined.assign(a);
        joined.append(btail);
        int32_t inew = lookup(joined, w);
        merges_[(uint64_t(uint32_t(ia)) << 32) | uint32_t(ib)] = {int32_t(i), inew};
    }
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (ignore_merges_) {
        auto it = vocab_.find(word);
        if (it != vocab_.end()) {
            out.push_back(it->second);
            return;
        }
    }
    bool cacheable = word.size() <= kCacheWordMax;
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cache_mu_);
        auto it = cache_.find(word);
        if (it != cache_.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    size_t start = out.size();
    merge_word(word, out);
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cache_mu_);
        if (cache_.size() >= kCacheMax) cache_.clear();
        cache_.emplace(std::string(word), std::vector<int32_t>(out.begin() + long(start), out.end()));
    }
}

void BpeModel::merge_word(std::string_view w, std::vector<int32_t>& out) const {
    struct Sym {
        int32_t id;
        int32_t prev, next;
        bool alive;
    };
    thread_local std::vector<Sym> syms;
    thread_local std::string key;
    syms.clear();
    auto add = [&](int32_t id) {
        int32_t n = int32_t(syms.size());
        syms.push_back({id, n - 1, n + 1, true});
    };
    // 1. Characters → initial symbols (with prefix/suffix, byte fallback, unk handling).
    int32_t pending_unk = -1;  // fused unk waiting to be added
    for (size_t i = 0; i < w.size();) {
        size_t len = utf8_char_len(static_cast<unsigned char>(w[i]));
        if (i + len > w.size()) len = w.size() - i;
        bool last = i + len == w.size();
        std::string_view ch = w.substr(i, len);
        const std::string_view* lookup_key = &ch;
        std::string_view kv;
        if ((i > 0 && !prefix_.empty()) || (last && !suffix_.empty())) {
            key.clear();
            if (i > 0) key += prefix_;
            key.append(ch);
            if (last) key += suffix_;
            kv = key;
            lookup_key = &kv;
        }
        auto it = vocab_.find(*lookup_key);
        if (it != vocab_.end()) {
            if (pending_unk >= 0) { add(pending_unk); pending_unk = -1; }
            add(it->second);
        } else {
            bool done = false;
            if (byte_fallback_) {
                bool all = true;
                for (unsigned char c : *lookup_key) all = all && byte_ids_[c] >= 0;
                if (all) {
                    if (pending_unk >= 0) { add(pending_unk); pending_unk = -1; }
                    for (unsigned char c : *lookup_key) add(byte_ids_[c]);
                    done = true;
                }
            }
            if (!done && unk_id_ >= 0) {
                if (pending_unk >= 0 && !fuse_unk_) add(pending_unk);
                pending_unk = unk_id_;
            }
            // No unk token: the character is dropped (as the reference library does).
        }
        i += len;
    }
    if (pending_unk >= 0) add(pending_unk);
    if (syms.empty()) return;
    syms.back().next = -1;

    // 2. Merge by (rank, position) using a min-heap with lazy invalidation.
    struct Cand {
        int32_t rank, pos, new_id;
        bool operator<(const Cand& o) const {  // std::priority_queue is a max-heap: invert
            return rank != o.rank ? rank > o.rank : pos > o.pos;
        }
    };
    thread_local std::vector<Cand> heap_storage;
    heap_storage.clear();
    std::priority_queue<Cand, std::vector<Cand>> heap(std::less<Cand>(), std::move(heap_storage));
    auto find_merge = [&](int32_t a, int32_t b) -> const MergeInfo* {
        auto it = merges_.find((uint64_t(uint32_t(a)) << 32) | uint32_t(b));
        return it == merges_.end() ? nullptr : &it->second;
    };
    for (size_t k = 0; k + 1 < syms.size(); ++k)
        if (auto m = find_merge(syms[k].id, syms[k + 1].id)) heap.push({m->rank, int32_t(k), m->new_id});
    while (!heap.empty()) {
        Cand top = heap.top();
        heap.pop();
        Sym& s = syms[size_t(top.pos)];
        if (!s.alive || s.next < 0) continue;
        Sym& r = syms[size_t(s.next)];
        auto m = find_merge(s.id, r.id);
        if (!m || m->new_id != top.new_id) continue;
        s.id = top.new_id;
        r.alive = false;
        s.next = r.next;
        if (r.next >= 0) syms[size_t(r.next)].prev = top.pos;
        if (s.prev >= 0)
            if (auto pm = find_merge(syms[size_t(s.prev)].id, s.id)) heap.push({pm->rank, s.prev, pm->new_id});
        if (s.next >= 0)
            if (auto nm = find_merge(s.id, syms[size_t(s.next)].id)) heap.push({nm->rank, top.pos, nm->new_id});
    }
    for (int32_t k = 0; k >= 0; k = syms[size_t(k)].next) out.push_back(syms[size_t(k)].id);
}

}  // namespace janus::tok_detail
