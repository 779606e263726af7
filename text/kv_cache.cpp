// KvCache implementation (see text/kv_cache.h).
#include "text/kv_cache.h"

#include "janus/error.h"

namespace janus {

KvCache::KvCache(Backend& backend, const LmConfig& cfg, int slots, int64_t capacity, DType dtype)
    : slots_(slots), capacity_(capacity), dtype_(dtype) {
    if (slots <= 0) throw Error("KV cache: need at least one sequence slot, got " + std::to_string(slots));
    if (capacity <= 0)
        throw Error("KV cache: context length must be positive, got " + std::to_string(capacity));
    if (dtype != DType::f32 && dtype != DType::bf16 && dtype != DType::f16)
        throw Error(std::string("KV cache: unsupported dtype ") + dtype_name(dtype) + " (use f32, bf16 or f16)");
    Shape s{slots, capacity, cfg.kv_heads, cfg.head_dim};
    const double need = 2.0 * double(cfg.layers) * double(s.numel()) * double(dtype_size(dtype));
    const MemoryInfo mem = backend.memory();
    if (mem.available > 0 && need > double(mem.available))
        throw Error("KV cache: " + std::to_string(slots) + " sequence(s) × " + std::to_string(capacity) +
                    " tokens need " + std::to_string(int64_t(need / 1048576.0)) + " MiB but only " +
                    std::to_string(int64_t(double(mem.available) / 1048576.0)) + " MiB are available on " +
                    backend.name() + " — use a smaller --ctx (or fewer parallel rows)");
    for (int64_t l = 0; l < cfg.layers; l++) {
        k_.push_back(backend.alloc(dtype, s));
        v_.push_back(backend.alloc(dtype, s));
    }
    length_.assign(size_t(slots), 0);
    used_.assign(size_t(slots), false);
}

size_t KvCache::bytes() const {
    size_t n = 0;
    for (auto& t : k_) n += t.nbytes();
    for (auto& t : v_) n += t.nbytes();
    return n;
}

size_t KvCache::bytes_per_token() const {
    return bytes() / size_t(slots_) / size_t(capacity_);
}

void KvCache::check_slot(int slot) const {
    if (slot < 0 || slot >= slots_)
        throw Error("KV cache: slot " + std::to_string(slot) + " out of range (cache has " +
                    std::to_string(slots_) + " slots)");
}

int64_t KvCache::length(int slot) const {
    check_slot(slot);
    return length_[size_t(slot)];
}

void KvCache::set_length(int slot, int64_t n) {
    check_slot(slot);
    if (n < 0 || n > capacity_)
        throw Error("KV cache: length " + std::to_string(n) + " outside [0, " + std::to_string(capacity_) + "]");
    length_[size_t(slot)] = n;
}

int KvCache::acquire() {
    for (int s = 0; s < slots_; s++) {
        if (!used_[size_t(s)]) {
            used_[size_t(s)] = true;
            length_[size_t(s)] = 0;
            return s;
        }
    }
    throw Error("KV cache: all " + std::to_string(slots_) + " sequence slots are in use");
}

void KvCache::release(int slot) {
    check_slot(slot);
    used_[size_t(slot)] = false;
    length_[size_t(slot)] = 0;
}

int KvCache::free_slots() const {
    int n = 0;
    for (bool u : used_) n += u ? 0 : 1;
    return n;
}

}  // namespace janus
