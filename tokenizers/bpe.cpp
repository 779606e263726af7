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

uint64_t hash_bytes(std::string_view s) {
    // FNV-1a, 64-bit, with a final mix.
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h ^ (h >> 31);
}

namespace {
constexpr size_t kCacheMax = 200000;
constexpr size_t kCacheWordMax = 2048;  // longer words are not cached
constexpr uint64_t kEmptyKey = ~uint64_t(0);
size_t pow2_at_least(size_t n) {
    size_t p = 16;
    while (p < n) p <<= 1;
    return p;
}
}  // namespace

int32_t BpeModel::find(std::string_view s) const {
    uint64_t h = hash_bytes(s);
    size_t mask = slots_.size() - 1;
    for (size_t i = size_t(h) & mask;; i = (i + 1) & mask) {
        int32_t id = slots_[i];
        if (id < 0) return -1;
        if (slot_hash_[i] == uint32_t(h)) {
            StrRef r = by_id_[size_t(id)];
            if (r.len == s.size() && std::string_view(arena_).substr(r.off, r.len) == s) return id;
        }
    }
}

std::string_view BpeModel::token(int32_t id) const {
    if (id < 0 || id >= int32_t(by_id_.size())) return {};
    StrRef r = by_id_[size_t(id)];
    return r.len == UINT32_MAX ? std::string_view() : std::string_view(arena_).substr(r.off, r.len);
}

void BpeModel::insert_token(StrRef ref, int32_t id) {
    std::string_view s = std::string_view(arena_).substr(ref.off, ref.len);
    uint64_t h = hash_bytes(s);
    size_t mask = slots_.size() - 1;
    for (size_t i = size_t(h) & mask;; i = (i + 1) & mask) {
        int32_t cur = slots_[i];
        if (cur < 0) {
            slots_[i] = id;
            slot_hash_[i] = uint32_t(h);
            return;
        }
        if (slot_hash_[i] == uint32_t(h) && token(cur) == s) {  // duplicate key: the later entry wins
            slots_[i] = id;
            return;
        }
    }
}

const BpeModel::MergeInfo* BpeModel::find_merge(int32_t a, int32_t b) const {
    uint64_t key = (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t mask = merge_slots_.size() - 1;
    for (size_t i = size_t(h >> 20) & mask;; i = (i + 1) & mask) {
        const MergeSlot& m = merge_slots_[i];
        if (m.key == key) return &m.info;
        if (m.key == kEmptyKey) return nullptr;
    }
}

BpeModel::BpeModel(const json& model, const std::string& where, RawModel&& raw) {
    std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
    if (!model.is_object()) json_fail(where, "expected a JSON object");
    std::string type = jstr(model, "type", where, "BPE");
    if (type != "BPE")
        json_fail(where + ".type", "unsupported model \"" + type + "\" (only BPE is supported)");
    if (model.contains("dropout") && model["dropout"].is_number() && model["dropout"].get<double>() != 0.0)
        json_fail(where + ".dropout", "BPE dropout is not supported for inference; set it to null");

    // Vocabulary → arena + id table + hash table.
    std::vector<std::pair<StrRef, int64_t>> entries;
    arena_ = std::move(raw.arena);  // streamed vocab / merges point into it
    if (raw.has_vocab) {
        entries = std::move(raw.vocab);
    } else {
        const json& vocab = jget(model, "vocab", where);
        if (!vocab.is_object()) json_fail(where + ".vocab", "expected an object {token: id}");
        for (auto it = vocab.begin(); it != vocab.end(); ++it) {
            if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 || it.value().get<int64_t>() > INT32_MAX)
                json_fail(where + ".vocab[\"" + it.key() + "\"]", "expected a non-negative integer id");
            entries.push_back({StrRef{uint32_t(arena_.size()), uint32_t(it.key().size())}, it.value().get<int64_t>()});
            arena_ += it.key();
        }
    }
    int64_t max_id = -1;
    for (auto& e : entries) max_id = std::max(max_id, e.second);
    by_id_.assign(size_t(max_id + 1), StrRef{0, UINT32_MAX});
    slots_.assign(pow2_at_least(entries.size() * 2 + 1), -1);
    slot_hash_.assign(slots_.size(), 0);
    for (auto& [ref, id] : entries) {
        by_id_[size_t(id)] = ref;
        insert_token(ref, int32_t(id));
    }

    unk_token_ = jstr(model, "unk_token", where, "");
    prefix_ = jstr(model, "continuing_subword_prefix", where, "");
    suffix_ = jstr(model, "end_of_word_suffix", where, "");
    byte_fallback_ = jbool(model, "byte_fallback", where, false);
    fuse_unk_ = jbool(model, "fuse_unk", where, false);
    ignore_merges_ = jbool(model, "ignore_merges", where, false);
    if (!unk_token_.empty()) {
        unk_id_ = find(unk_token_);
        if (unk_id_ < 0) json_fail(where + ".unk_token", "unk_token \"" + unk_token_ + "\" is not in the vocabulary");
    }
    if (byte_fallback_) {
        for (int b = 0; b < 256; ++b) {
            char name[8];
            std::snprintf(name, sizeof name, "<0x%02X>", b);
            byte_ids_[b] = find(name);
        }
    }
    build_merges(model, where, raw);
}

void BpeModel::build_merges(const json& model, const std::string& where, const RawModel& raw) {
    // Merges as (left, right) string views; streamed ones point into raw.arena (moved into arena_).
    std::vector<std::pair<std::string_view, std::string_view>> list;
    std::vector<std::string> owned;  // for merges read from the JSON tree
    if (raw.has_merges) {
        std::string_view a = arena_;
        list.reserve(raw.merges.size());
        for (auto& [l, r] : raw.merges) list.emplace_back(a.substr(l.off, l.len), a.substr(r.off, r.len));
    } else {
        const json& merges = jget(model, "merges", where);
        if (!merges.is_array()) json_fail(where + ".merges", "expected an array");
        owned.reserve(merges.size() * 2);
        for (size_t i = 0; i < merges.size(); ++i) {
            const json& m = merges[i];
            if (m.is_string()) {
                const std::string& s = *m.get_ptr<const std::string*>();
                size_t sp = s.find(' ');
                if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                    json_fail(where + ".merges[" + std::to_string(i) + "]",
                              "expected \"left right\" (two tokens separated by one space), got \"" + s + "\"");
                owned.push_back(s.substr(0, sp));
                owned.push_back(s.substr(sp + 1));
            } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
                owned.push_back(m[0].get<std::string>());
                owned.push_back(m[1].get<std::string>());
            } else {
                json_fail(where + ".merges[" + std::to_string(i) + "]", "expected \"left right\" or [\"left\", \"right\"]");
            }
        }
        for (size_t i = 0; i < owned.size(); i += 2) list.emplace_back(owned[i], owned[i + 1]);
    }
    merge_slots_.assign(pow2_at_least(list.size() * 2 + 1), MergeSlot{kEmptyKey, {0, 0}});
    size_t mask = merge_slots_.size() - 1;
    auto lookup = [&](std::string_view tok, size_t i) -> int32_t {
        int32_t id = find(tok);
        if (id < 0)
            json_fail(where + ".merges[" + std::to_string(i) + "]",
                      "merge names \"" + std::string(tok) + "\", which is not in model.vocab");
        return id;
    };
    std::string joined;
    for (size_t i = 0; i < list.size(); ++i) {
        auto [a, b] = list[i];
        int32_t ia = lookup(a, i), ib = lookup(b, i);
        std::string_view btail = b;
        if (!prefix_.empty() && btail.substr(0, prefix_.size()) == prefix_) btail.remove_prefix(prefix_.size());
        joined.assign(a);
        joined.append(btail);
        int32_t inew = lookup(joined, i);
        uint64_t key = (uint64_t(uint32_t(ia)) << 32) | uint32_t(ib);
        uint64_t h = key * 0x9E3779B97F4A7C15ull;
        for (size_t k = size_t(h >> 20) & mask;; k = (k + 1) & mask) {
            MergeSlot& m = merge_slots_[k];
            if (m.key == kEmptyKey || m.key == key) {  // a repeated pair: the later rank wins (as in the reference)
                m.key = key;
                m.info = {int32_t(i), inew};
                break;
            }
        }
    }
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (ignore_merges_) {
        int32_t id = find(word);
        if (id >= 0) {
            out.push_back(id);
            return;
        }
    }
    // A single character with no end-of-word suffix: one vocabulary lookup, no merges, no cache.
    if (suffix_.empty() && utf8_char_len(static_cast<unsigned char>(word[0])) == word.size()) {
        int32_t id = find(word);
        if (id >= 0) {
            out.push_back(id);
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
        int32_t found = find(*lookup_key);
        if (found >= 0) {
            if (pending_unk >= 0) { add(pending_unk); pending_unk = -1; }
            add(found);
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
