// ServeBatch (pipelines/serve_batch.h): one LlamaModel::forward per step over the chunks of the text
// Generator (text + vision rows) followed by the image GenEngine's chunks (2 CFG rows per image).
// Shapes per step: chunks [C_text + 2n]; hidden [R_text + 2n, H] (final-normed, output rows in chunk
// order); text logits [R_text, V] = hidden[0:R_text]·W_lm_headᵀ; image rows hidden[R_text:] → the
// engine's gen_head [2n, V_img], CFG, codes, gen_aligner feed.
#include "pipelines/serve_batch.h"

#include <algorithm>

#include "janus/error.h"
#include "pipelines/understand.h"

namespace janus {

ServeBatch::ServeBatch(LlamaModel& lm, GenParts* gen_parts, int text_slots, int max_images, int64_t capacity,
                       int64_t max_step_tokens)
    : lm_(&lm) {
    if (text_slots < 1) throw Error("ServeBatch: need at least one text slot (--max-concurrent)");
    if (gen_parts && gen_parts->lm.get() != &lm)
        throw Error("ServeBatch: image rows must run on the same LlamaModel as the text rows");
    const int image_slots = gen_parts ? 2 * std::max(1, max_images) : 0;
    cache_ = std::make_unique<KvCache>(lm.backend(), lm.config(), text_slots + image_slots, capacity,
                                       lm.default_kv_dtype());
    gen_ = std::make_unique<Generator>(lm, *cache_, max_step_tokens);
    if (gen_parts) engine_ = std::make_unique<GenEngine>(*gen_parts, std::max(1, max_images), *cache_);
}

MixedStepReport ServeBatch::step() {
    MixedStepReport rep;
    chunks_.clear();
    const size_t nt = gen_->prepare(chunks_);
    rep.text_handles = gen_->step_handles();
    const size_t ni = engine_ ? engine_->prepare(chunks_) : 0;
    if (chunks_.empty()) {  // only rows that ended before computing (cancelled, max_tokens 0)
        rep.text_events = gen_->complete(Tensor(), {});
        if (engine_) rep.image = engine_->complete(Tensor());
        return rep;
    }
    rep.ran = true;
    for (const SeqChunk& c : chunks_) rep.tokens += c.size();
    StepOutputs out = lm_->forward(chunks_, *cache_, /*want_logits=*/false);

    // ---- text + vision rows: lm_head on their output rows only (the first R_text rows) ----
    int64_t r_text = 0;
    for (size_t i = 0; i < nt; ++i) r_text += out.count[i];
    Tensor host;
    if (r_text > 0) {
        Backend& be = lm_->backend();
        const int64_t V = lm_->config().vocab_size;
        if (!logits_.defined() || logits_.dim(0) < r_text) logits_ = be.alloc(DType::f32, {r_text, V});
        Tensor lg = logits_.rows(0, r_text);
        // The same ops as LlamaModel::forward's own head (linear(): matmul at the model's precision,
        // then bf16 rounding in bf16 mode); serve_batch_test checks the two agree bit for bit.
        const bool bf16 = lm_->bf16();
        be.matmul(lg, out.hidden.rows(0, r_text), lm_->weights().lm_head, Tensor(),
                  bf16 ? MatmulPrecision::bf16 : MatmulPrecision::f32, false);
        if (bf16) be.round_to_bf16(lg);
        if (lg.is_cpu()) {
            host = lg;
        } else {
            logits_host_.resize(size_t(lg.numel()));
            host = Tensor(logits_host_.data(), DType::f32, lg.shape());
            be.copy(host, lg);
            be.synchronize();
        }
    }
    rep.text_logits = host;
    rep.text_events = gen_->complete(host, std::span<const int64_t>(out.first.data(), nt));

    // ---- image rows: every image chunk has one output row, right after the text rows ----
    if (engine_) {
        Tensor h;
        if (ni > 0) h = out.hidden.rows(out.first[nt], out.first[nt] + int64_t(ni));
        rep.image = engine_->complete(h);
    }
    return rep;
}

VisionPrompt make_vision_prompt(ImageEmbedder& vis, LlamaModel& lm, const ChatFormat& format,
                                const std::vector<RgbImage>& images, const std::string& question) {
    Backend& be = lm.backend();
    const int64_t N = vis.tokens_per_image(), H = lm.config().hidden;
    VisionPrompt p;
    std::vector<ChatMessage> msgs = {{"user", understand_user_content(question, images.size())}};
    p.ids = vis.expand(vis.encode_prompt(format, msgs, true));
    const int64_t T = int64_t(p.ids.size());
    std::vector<Tensor> per_image;
    ImageEmbedder::Output e;
    if (!images.empty()) {
        e = vis.embed(images);
        for (int64_t k = 0; k < int64_t(images.size()); ++k)
            per_image.push_back(e.aligned.rows(k * N, (k + 1) * N));
    }
    p.embeds = be.alloc(DType::f32, {T, H});
    lm.embed(p.embeds, be.upload(Tensor::from_i32(p.ids, {T})));
    vis.splice(be, p.embeds, p.ids, 0, per_image);
    be.synchronize();
    return p;
}

}  // namespace janus
