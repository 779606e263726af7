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
// Split step (prepare / complete): an owner that runs one forward shared with other rows (the
// server's mixed batch, pipelines/serve_batch.h) gives the engine its KV cache at construction,
// appends the engine's chunks with prepare(), runs LlamaModel::forward itself and hands the
// final-normed hidden states of those chunks back to complete(). step() is prepare + forward +
// complete on the engine's own cache.
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

#include "janus/chat_format.h"
#include "janus/generate.h"
#include "kernels/backend.h"
#include "text/kv_cache.h"
#include "text/llama_model.h"
#include "text/sampling.h"
#include "vision/name_map.h"
#include "vision/vq_model.h"

namespace janus {

class Tokenizer;
struct ModelBundle;

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

// Loads what image generation needs besides the LM from a Janus bundle into `parts` (parts.be and
// parts.lm set by the caller — e.g. the server's LM shared with its text rows): gen_embed,
// gen_aligner, gen_head, the VQ-16 decoder and image_tokens. Returns the VQ config. Throws
// janus::Error when the parts do not fit together.
vision::VqConfig load_gen_parts(GenParts& parts, const ModelBundle& bundle);

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

// Prompt rows of image requests (facts §5.1, §5.2): conditional ids [BOS] + Janus generation prompt,
// unconditional ids = the same with positions 1..L−2 set to the pad id (or a negative prompt).
class GenPrompts {
public:
    // Throws janus::Error when the tokenizer has no pad token or no <begin_of_image>.
    GenPrompts(const Tokenizer& tok, int image_tokens);
    std::vector<int32_t> ids(const std::string& prompt) const;
    // The state GenEngine::add takes; validates the request (janus::Error naming the field).
    std::shared_ptr<GenRequestState> request(const ImageRequest& r, int handle) const;
    int32_t pad() const { return pad_; }
    int32_t bos() const { return bos_; }

private:
    const Tokenizer* tok_;
    ChatFormat format_;
    int image_tokens_;
    int32_t pad_ = -1, bos_ = -1;
};

// A finished image state → GeneratedImage, VQ-decoded (f32, one image) when decode is set and the
// codes are complete.
GeneratedImage finish_gen_image(GenParts& parts, int image_size, GenImageState& im, bool decode);

class GenEngine {
public:
    // max_images images in flight (2 KV slots each), each row up to `capacity` positions.
    GenEngine(GenParts& parts, int max_images, int64_t capacity);
    // The same on a cache owned by the caller (shared with other rows of parts.lm); the engine takes
    // at most 2·max_images of its slots through acquire()/release().
    GenEngine(GenParts& parts, int max_images, KvCache& shared_cache);

    int max_images() const { return max_images_; }
    int64_t capacity() const { return cache_->capacity(); }
    const KvCache& cache() const { return *cache_; }

    // Queues every image of the request (the ones in req.only_images, or 0..n−1). Throws janus::Error
    // when a row would not fit the KV capacity.
    void add(const std::shared_ptr<GenRequestState>& rq);
    void cancel(int handle);
    bool idle() const { return pending_.empty() && active_.empty(); }
    int in_flight() const { return int(active_.size()); }
    int queued() const { return int(pending_.size()); }

    StepReport step();
    // Split step. prepare() admits queued images and appends their chunks (every one with
    // OutputRows::last) to `chunks`, returning how many; the caller runs forward() over `chunks` on
    // cache() and calls complete() once with the hidden rows [count, H] of exactly these chunks, in
    // order (contiguous in StepOutputs::hidden). Its report has no `seconds`.
    size_t prepare(std::vector<SeqChunk>& chunks);
    StepReport complete(const Tensor& hidden);
    // Images whose codes are complete (in completion order, image order within a step).
    std::vector<GenImageState> take_finished();

private:
    void admit();
    GenParts* p_;
    int max_images_;
    std::unique_ptr<KvCache> own_cache_;
    KvCache* cache_;
    // state between prepare() and complete()
    std::vector<int> leader_, out_row_;
    int step_rows_ = 0, step_prefill_rows_ = 0;
    bool prepared_ = false;
    std::deque<GenImageState> pending_;
    std::vector<GenImageState> active_;
    std::vector<GenImageState> finished_;
    Tensor feed_, code_, feed_tmp_, logits_, head_tmp_;
    std::vector<float> host_logits_;
};

}  // namespace janus
