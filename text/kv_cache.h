// KvCache: per-layer key/value storage for a fixed number of sequence slots.
//   k(layer), v(layer): [slots, capacity, kv_heads, head_dim] in f32, bf16 or f16 on the backend.
//   A slot holds one sequence; length(slot) tokens of it are valid (positions 0 .. length−1).
// Sized from the request (slots × capacity), never from the model's max_position_embeddings.
// acquire()/release() hand out free slots for continuous batching; rows join and leave between
// steps without touching the other slots.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/backend.h"
#include "text/lm_config.h"

namespace janus {

class KvCache {
public:
    KvCache(Backend& backend, const LmConfig& cfg, int slots, int64_t capacity, DType dtype);

    int slots() const { return slots_; }
    int64_t capacity() const { return capacity_; }
    DType dtype() const { return dtype_; }
    size_t bytes() const;  // total device bytes of K and V
    // Bytes one token position occupies across all layers (K and V).
    size_t bytes_per_token() const;

    // Views of one slot: [capacity, kv_heads, head_dim].
    Tensor k(int layer, int slot) const { return k_[size_t(layer)].row(slot); }
    Tensor v(int layer, int slot) const { return v_[size_t(layer)].row(slot); }

    int64_t length(int slot) const;
    void set_length(int slot, int64_t n);  // 0 <= n <= capacity

    // Slot pool. acquire() returns a free slot (length reset to 0) or throws when all are in use.
    int acquire();
    void release(int slot);
    int free_slots() const;

private:
    void check_slot(int slot) const;
    int slots_;
    int64_t capacity_;
    DType dtype_;
    std::vector<Tensor> k_, v_;  // per layer [slots, capacity, kv_heads, head_dim]
    std::vector<int64_t> length_;
    std::vector<bool> used_;
};

}  // namespace janus
