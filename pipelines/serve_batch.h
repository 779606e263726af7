// ServeBatch: the one forward per step that all of `janus serve`'s work shares (continuous batching
// across request kinds). One LlamaModel, one KvCache [text_slots + 2·max_images, capacity]:
//   text rows   — chat / completions: ids (prefill chunks, then one token per step), lm_head logits;
//   vision rows — chat with images: the prompt as embeddings [T, H] (token embeddings with the SigLIP
//                 + aligner rows spliced in, facts §4.2) prefilled in chunks, then tokens, lm_head;
//   image rows  — text-to-image: 2 CFG rows per image (prompt ids, then gen_aligner(gen_embed(code))
//                 embeddings [1, H]), read through gen_head (facts §5.2–§5.4).
// Text and vision rows are rows of one Generator (text/generator.h), images of one GenEngine
// (pipelines/generate_engine.h); step() stacks both engines' chunks into a single
// LlamaModel::forward (want_logits off), then applies lm_head only to the Generator's output rows
// [R_text, H] → [R_text, V] and gen_head to the image rows [2n, H] → [2n, V_img]. Each row reads only
// its own KV slot and samples from its own seed/stream, so a request's tokens and image codes are the
// same as when it runs alone (tests/serve/serve_batch_test.cpp). A finished or cancelled row leaves
// at the next step. Not thread-safe: the server's scheduler thread owns it.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "janus/chat_format.h"
#include "janus/vision.h"
#include "pipelines/generate_engine.h"
#include "text/generator.h"

namespace janus {

class ImageEmbedder;

struct MixedStepReport {
    std::vector<TokenEvent> text_events;  // Generator events (text and vision rows)
    std::vector<int> text_handles;        // Generator rows in this forward, in chunk order
    StepReport image;                     // image rows of this forward (images, rows, prefill_rows)
    Tensor text_logits;                   // host [R_text, V] lm_head rows (valid until the next step)
    int64_t tokens = 0;                   // positions stacked in the forward (all kinds)
    bool ran = false;                     // false when nothing needed a forward
};

class ServeBatch {
public:
    // `gen_parts` (nullable: text-only models) holds the LM every row runs on; `lm` must be the same
    // model (gen_parts->lm.get() when given). text_slots KV slots for text + vision rows, 2·max_images
    // for images; capacity positions per slot; max_step_tokens bounds prefill tokens per step.
    ServeBatch(LlamaModel& lm, GenParts* gen_parts, int text_slots, int max_images, int64_t capacity,
               int64_t max_step_tokens);

    Generator& text() { return *gen_; }
    GenEngine* images() { return engine_.get(); }  // nullptr without image parts
    KvCache& cache() { return *cache_; }
    bool idle() const { return gen_->idle() && (!engine_ || engine_->idle()); }

    // One forward over every row in flight (see the header comment).
    MixedStepReport step();

private:
    LlamaModel* lm_;
    std::unique_ptr<KvCache> cache_;
    std::unique_ptr<Generator> gen_;
    std::unique_ptr<GenEngine> engine_;
    std::vector<SeqChunk> chunks_;
    Tensor logits_;  // [R_text, V] on the backend (grown as needed)
    std::vector<float> logits_host_;
};

// The prompt of a vision row exactly as `janus ask` builds it (Understander, facts §3.4, §4.2):
// `format` (Janus) rendering of {user: understand_user_content(question, n)}, images expanded to
// BOI + N image ids + EOI; embeds [T, H] f32 on the backend = token embeddings with each image's
// SigLIP + aligner rows spliced in. Throws janus::Error for malformed images or placeholder counts.
struct VisionPrompt {
    std::vector<int32_t> ids;
    Tensor embeds;
};
VisionPrompt make_vision_prompt(ImageEmbedder& vis, LlamaModel& lm, const ChatFormat& format,
                                const std::vector<RgbImage>& images, const std::string& question);

}  // namespace janus
