// The text-to-image decode engine behind janus::ImageGenerator (include/janus/generate.h): images of
// any number of requests share one batched LLM forward per step (facts §5.2–§5.4).
//
// Per image i in flight: two KV slots, row 2i = conditional ids [L_c], row 2i+1 = unconditional ids
// [L_u] (pads or a negative prompt; each row at its own positions 0..L_r−1, no mask). A step stacks
// every row's chunk (a whole prompt for newly admitted images, else one embedding row
// gen_aligner(gen_embed(last code)) [1, H], the same for both rows) into LlamaModel::forward, takes
// the final-normed hidden states h [2n, H], logits = gen_head(h) [2n, V_img] (raw), guided =
// uncond + w·(cond − uncond), then greedy argmax or a draw from the image's own counter RNG
// (seed = its sub-seed, stream 0, step = code index). Images that reach their code count leave at
// once (their slots go back to the pool) and queued images are admitted into free slots (images of
// one request admitted together prefill their prompt rows once and copy the KV), so a
// request larger than the KV budget runs in several passes and `janus batch` keeps the batch full.
//
// bf16 mode emulates torch's bf16 module boundaries (rounding after every Linear / GELU and after
// each CFG op), as the goldens do (docs/reference-implementation.md).
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "janus/generate.h"
#include "kernels/backend.h"
#include "text/kv_cache.h"
#include "text/llama_model.h"
#include "text/sampling.h"
#include "vision/name_map.h"
#include "vision/vq_model.h"

namespace janus {

// gen_embed [V_img, D_code], gen_aligner (D_code → H → H), gen_head (H → E → V_img), facts §1.6.
struct GenHeads {
    Tensor embed;
    Tensor a_w1, a_b1, a_w2, a_b2;
    Tensor h_w1, h_b1, h_w2, h_b2;

    static GenHeads load(const vision::WeightSource& ws, int64_t hidden);
    // Random weights (benchmarks): N(0, 0.02²), zero biases, stored as `dtype`.
    static GenHeads random(Backend& be, int64_t hidden, int64_t codebook, int64_t code_dim, DType dtype,
                           uint64_t seed);
    int64_t hidden() const { return h_w1.dim(1); }
    int64_t codebook() const { return h_w2.dim(0); }
    int64_t bytes() const;
    double head_flops_per_row() const;     // 2·(H·E + E·V)
    double aligner_flops_per_row() const;  // 2·(D·H + H·H)

    // logits [R, V_img] = gen_head(hidden [R, H]); tmp [R, E] scratch. bf16: round after each op.
    void head(Backend& be, const Tensor& logits, const Tensor& hidden, const Tensor& tmp, bool bf16) const;
    // out [n, H] = gen_aligner(gen_embed(codes [n] i32)); code [n, D] and tmp [n, H] scratch.
    void feed(Backend& be, const Tensor& out, const Tensor& codes, const Tensor& code, const Tensor& tmp,
              bool bf16) const;
};

// The models the engine runs on (built from a checkpoint or synthetic for benchmarks).
struct GenParts {
    Backend* be = nullptr;
    std::unique_ptr<LlamaModel> lm;
    GenHeads heads;
    std::optional<vision::VqModel> vq;   // absent in benchmarks
    int image_tokens = 0;                // N = grid²
    bool bf16() const { return lm->bf16(); }
};

// One submit(): what its images share.
struct GenRequestState {
    int handle = 0;
    ImageRequest req;
    std::vector<int32_t> ids_c, ids_u;
    SamplingParams sampling;             // seed set per image
    int steps = 0;                       // codes per image
    bool record = false;                 // keep step-0 rows and guided logits (dumps)
    bool cancelled = false;
    int outstanding = 0;                 // images not yet handed out by take_finished
};

struct GenImageState {
    std::shared_ptr<GenRequestState> rq;
    int index = 0;
    uint64_t seed = 0;
    int slot_c = -1, slot_u = -1;
    bool prefilled = false;
    int feed_row = -1;
    std::vector<int32_t> codes;
    std::vector<float> step0_rows;       // record: [2, V] (cond, uncond) at step 0
    std::vector<float> cfg_logits;       // record: [steps, V]
    std::chrono::steady_clock::time_point admitted, done;
};

class GenEngine {
public:
    // max_images images in flight (2 KV slots each), each row up to `capacity` positions.
    GenEngine(GenParts& parts, int max_images, int64_t capacity);

    int max_images() const { return max_images_; }
    int64_t capacity() const { return cache_.capacity(); }
    const KvCache& cache() const { return cache_; }

    // Queues every image of the request (the ones in req.only_images, or 0..n−1). Throws janus::Error
    // when a row would not fit the KV capacity.
    void add(const std::shared_ptr<GenRequestState>& rq);
    void cancel(int handle);
    bool idle() const { return pending_.empty() && active_.empty(); }
    int in_flight() const { return int(active_.size()); }
    int queued() const { return int(pending_.size()); }

    StepReport step();
    // Images whose codes are complete (in completion order, image order within a step).
    std::vector<GenImageState> take_finished();

private:
    void admit();
    GenParts* p_;
    int max_images_;
    KvCache cache_;
    std::deque<GenImageState> pending_;
    std::vector<GenImageState> active_;
    std::vector<GenImageState> finished_;
    Tensor feed_, code_, feed_tmp_, logits_, head_tmp_;
    std::vector<float> host_logits_;
};

}  // namespace janus
