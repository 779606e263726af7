// GenEngine and GenHeads: the batched CFG decode loop of Janus-Pro text-to-image (see generate_engine.h).
// Shapes per step with n images in flight: chunks 2n (prompt rows [L_r] or one embedding row [1, H]),
// hidden [2n, H] → gen_head logits [2n, V_img] → guided [n, V_img] on the host → codes [n] →
// gen_embed [n, D] → gen_aligner [n, H] (fed to both rows of each image at the next step).
#include "pipelines/generate_engine.h"

#include <algorithm>
#include <cmath>

#include "janus/error.h"
#include "vision/random_weights.h"

namespace janus {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Tensor as_dtype(Backend& be, const Tensor& t, DType dt) {
    if (t.dtype() == dt) return t;
    Tensor o = be.alloc(dt, t.shape());
    be.convert(o, t);
    return o;
}

Tensor view_rows(Tensor& buf, Backend& be, int64_t rows, int64_t cols) {
    if (!buf.defined() || buf.dim(0) < rows || buf.dim(1) != cols) buf = be.alloc(DType::f32, {std::max<int64_t>(rows, 1), cols});
    return buf.rows(0, rows);
}

}  // namespace

// ---- GenHeads --------------------------------------------------------------------------------------

GenHeads GenHeads::load(const vision::WeightSource& ws, int64_t hidden) {
    GenHeads h;
    h.embed = ws.require("gen_embed.weight");
    if (h.embed.ndim() != 2) throw Error(ws.source() + ": gen_embed.weight must be 2-D, got " + h.embed.shape().str());
    const int64_t V = h.embed.dim(0), D = h.embed.dim(1);
    h.a_w1 = ws.require("gen_aligner.layers.0.weight", {hidden, D});
    h.a_b1 = ws.require("gen_aligner.layers.0.bias", {hidden});
    h.a_w2 = ws.require("gen_aligner.layers.2.weight", {hidden, hidden});
    h.a_b2 = ws.require("gen_aligner.layers.2.bias", {hidden});
    h.h_w1 = ws.require("gen_head.output_mlp_projector.weight");
    if (h.h_w1.ndim() != 2 || h.h_w1.dim(1) != hidden)
        throw Error(ws.source() + ": gen_head.output_mlp_projector.weight is " + h.h_w1.shape().str() +
                    ", expected [image_token_embed, " + std::to_string(hidden) + "] (LM hidden size)");
    const int64_t E = h.h_w1.dim(0);
    h.h_b1 = ws.require("gen_head.output_mlp_projector.bias", {E});
    h.h_w2 = ws.require("gen_head.vision_head.weight", {V, E});
    h.h_b2 = ws.require("gen_head.vision_head.bias", {V});
    return h;
}

GenHeads GenHeads::random(Backend& be, int64_t hidden, int64_t codebook, int64_t code_dim, DType dtype,
                          uint64_t seed) {
    GenHeads h;
    auto w = [&](const Shape& s) { return as_dtype(be, vision::random_normal(be, s, 0.02f, seed++), dtype); };
    auto z = [&](int64_t n) { return vision::constant(be, {n}, 0.0f); };
    h.embed = as_dtype(be, vision::random_normal(be, {codebook, code_dim}, 1.0f, seed++), dtype);
    h.a_w1 = w({hidden, code_dim});
    h.a_b1 = z(hidden);
    h.a_w2 = w({hidden, hidden});
    h.a_b2 = z(hidden);
    h.h_w1 = w({hidden, hidden});
    h.h_b1 = z(hidden);
    h.h_w2 = w({codebook, hidden});
    h.h_b2 = z(codebook);
    return h;
}

int64_t GenHeads::bytes() const {
    int64_t b = 0;
    for (const Tensor* t : {&embed, &a_w1, &a_b1, &a_w2, &a_b2, &h_w1, &h_b1, &h_w2, &h_b2}) b += int64_t(t->nbytes());
    return b;
}

double GenHeads::head_flops_per_row() const {
    return 2.0 * double(h_w1.dim(0)) * double(h_w1.dim(1)) + 2.0 * double(h_w2.dim(0)) * double(h_w2.dim(1));
}

double GenHeads::aligner_flops_per_row() const {
    return 2.0 * double(a_w1.dim(0)) * double(a_w1.dim(1)) + 2.0 * double(a_w2.dim(0)) * double(a_w2.dim(1));
}

void GenHeads::head(Backend& be, const Tensor& logits, const Tensor& hidden, const Tensor& tmp, bool bf16) const {
    const MatmulPrecision prec = bf16 ? MatmulPrecision::bf16 : MatmulPrecision::f32;
    be.matmul(tmp, hidden, h_w1, h_b1, prec);
    if (bf16) be.round_to_bf16(tmp);
    be.gelu(tmp, tmp);
    if (bf16) be.round_to_bf16(tmp);
    be.matmul(logits, tmp, h_w2, h_b2, prec);
    if (bf16) be.round_to_bf16(logits);
}

void GenHeads::feed(Backend& be, const Tensor& out, const Tensor& codes, const Tensor& code, const Tensor& tmp,
                    bool bf16) const {
    const MatmulPrecision prec = bf16 ? MatmulPrecision::bf16 : MatmulPrecision::f32;
    be.embedding(code, embed, codes);
    be.matmul(tmp, code, a_w1, a_b1, prec);
    if (bf16) be.round_to_bf16(tmp);
    be.gelu(tmp, tmp);
    if (bf16) be.round_to_bf16(tmp);
    be.matmul(out, tmp, a_w2, a_b2, prec);
    if (bf16) be.round_to_bf16(out);
}

// ---- GenEngine -------------------------------------------------------------------------------------

GenEngine::GenEngine(GenParts& parts, int max_images, int64_t capacity) : p_(&parts), max_images_(max_images) {
    if (max_images <= 0) throw Error("image generation: at least one image must fit in a decode step");
    own_cache_ = std::make_unique<KvCache>(*parts.be, parts.lm->config(), 2 * max_images, capacity,
                                           parts.lm->default_kv_dtype());
    cache_ = own_cache_.get();
}

GenEngine::GenEngine(GenParts& parts, int max_images, KvCache& shared_cache)
    : p_(&parts), max_images_(max_images), cache_(&shared_cache) {
    if (max_images <= 0) throw Error("image generation: at least one image must fit in a decode step");
}

void GenEngine::add(const std::shared_ptr<GenRequestState>& rq) {
    const int64_t need = int64_t(std::max(rq->ids_c.size(), rq->ids_u.size())) + rq->steps - 1;
    if (need > cache_->capacity())
        throw Error("image generation: a prompt of " + std::to_string(std::max(rq->ids_c.size(), rq->ids_u.size())) +
                    " tokens plus " + std::to_string(rq->steps) + " image tokens needs " + std::to_string(need) +
                    " KV positions per row, this engine holds " + std::to_string(cache_->capacity()) +
                    " (shorten the prompt or raise max_prompt_tokens)");
    std::vector<int> which = rq->req.only_images;
    if (which.empty())
        for (int k = 0; k < rq->req.n; ++k) which.push_back(k);
    for (int k : which) {
        GenImageState im;
        im.rq = rq;
        im.index = k;
        im.seed = image_seed(rq->req.seed, k);
        pending_.push_back(std::move(im));
    }
    rq->outstanding += int(which.size());
}

void GenEngine::cancel(int handle) {
    auto hit = [&](const GenImageState& im) { return im.rq->handle == handle; };
    std::erase_if(pending_, hit);
    for (auto& im : active_)
        if (hit(im)) {
            cache_->release(im.slot_c);
            cache_->release(im.slot_u);
        }
    std::erase_if(active_, hit);
    std::erase_if(finished_, hit);
}

void GenEngine::admit() {
    while (!pending_.empty() && int(active_.size()) < max_images_ && cache_->free_slots() >= 2) {
        GenImageState im = std::move(pending_.front());
        pending_.pop_front();
        im.slot_c = cache_->acquire();
        im.slot_u = cache_->acquire();
        im.admitted = Clock::now();
        active_.push_back(std::move(im));
    }
}

StepReport GenEngine::step() {
    auto t0 = Clock::now();
    std::vector<SeqChunk> chunks;
    if (prepare(chunks) == 0) {
        prepared_ = false;
        return {};
    }
    StepOutputs out = p_->lm->forward(chunks, *cache_, /*want_logits=*/false);
    StepReport rep = complete(out.hidden);
    rep.seconds = since(t0);
    return rep;
}

size_t GenEngine::prepare(std::vector<SeqChunk>& chunks) {
    if (prepared_) throw Error("GenEngine::prepare: the previous step was not completed");
    admit();
    prepared_ = true;
    step_rows_ = step_prefill_rows_ = 0;
    const int n = int(active_.size());
    leader_.assign(size_t(n), -1);
    out_row_.assign(size_t(n), -1);
    if (n == 0) return 0;

    // ---- chunks for both rows of every image ----
    // Images of one request admitted in the same step share their prompt rows: only the first
    // ("leader") is prefilled, the others copy its KV and its step-0 logits (identical ids give
    // identical values; this turns a P-image prefill of 2P·L tokens into 2·L).
    for (int i = 0; i < n; ++i) {
        GenImageState& im = active_[size_t(i)];
        if (im.prefilled) continue;
        for (int j = 0; j < i; ++j)
            if (!active_[size_t(j)].prefilled && leader_[size_t(j)] < 0 && active_[size_t(j)].rq == im.rq) {
                leader_[size_t(i)] = j;
                break;
            }
    }
    const size_t first = chunks.size();
    for (int i = 0; i < n; ++i) {
        GenImageState& im = active_[size_t(i)];
        if (leader_[size_t(i)] >= 0) continue;
        out_row_[size_t(i)] = int(chunks.size() - first);
        SeqChunk c, u;
        c.slot = im.slot_c;
        u.slot = im.slot_u;
        if (!im.prefilled) {
            c.start = u.start = 0;
            c.tokens = im.rq->ids_c;
            u.tokens = im.rq->ids_u;
            step_prefill_rows_ += 2;
        } else {
            c.start = cache_->length(im.slot_c);
            u.start = cache_->length(im.slot_u);
            c.embeds = u.embeds = feed_.rows(im.feed_row, im.feed_row + 1);
        }
        c.output = u.output = OutputRows::last;
        chunks.push_back(c);
        chunks.push_back(u);
    }
    step_rows_ = int(chunks.size() - first);
    return chunks.size() - first;
}

StepReport GenEngine::complete(const Tensor& hidden) {
    if (!prepared_) throw Error("GenEngine::complete: no step was prepared");
    prepared_ = false;
    StepReport rep;
    const int n = int(active_.size());
    if (n == 0) return rep;
    Backend& be = *p_->be;
    const bool bf16 = p_->bf16();
    const int64_t H = p_->lm->config().hidden, V = p_->heads.codebook();
    const int R = step_rows_;
    if (!hidden.defined() || hidden.dim(0) != R || hidden.dim(1) != H)
        throw Error("GenEngine::complete: expected hidden rows [" + std::to_string(R) + ", " + std::to_string(H) +
                    "], got " + (hidden.defined() ? hidden.str() : std::string("none")));
    rep.prefill_rows = step_prefill_rows_;
    for (int i = 0; i < n; ++i) {  // followers: copy the leader's prompt KV
        if (leader_[size_t(i)] < 0) continue;
        const GenImageState& ld = active_[size_t(leader_[size_t(i)])];
        GenImageState& im = active_[size_t(i)];
        for (auto [from, to] : {std::pair{ld.slot_c, im.slot_c}, std::pair{ld.slot_u, im.slot_u}}) {
            const int64_t len = cache_->length(from);
            for (int64_t l = 0; l < p_->lm->config().layers; ++l) {
                be.copy(cache_->k(int(l), to).rows(0, len), cache_->k(int(l), from).rows(0, len));
                be.copy(cache_->v(int(l), to).rows(0, len), cache_->v(int(l), from).rows(0, len));
            }
            cache_->set_length(to, len);
        }
        out_row_[size_t(i)] = out_row_[size_t(leader_[size_t(i)])];
        rep.prefill_rows += 2;
    }
    const std::vector<int>& out_row = out_row_;

    // ---- gen_head on the last hidden state of every row: [2n, V] raw logits ----
    Tensor logits = view_rows(logits_, be, R, V);
    Tensor htmp = view_rows(head_tmp_, be, R, p_->heads.h_w1.dim(0));
    p_->heads.head(be, logits, hidden, htmp, bf16);
    host_logits_.resize(size_t(R) * size_t(V));
    Tensor host = Tensor(host_logits_.data(), DType::f32, {R, V});
    be.copy(host, logits);
    be.synchronize();

    // ---- CFG + choice per image ----
    std::vector<float> guided(static_cast<size_t>(V));
    std::vector<GenImageState> still;
    std::vector<int32_t> feed_codes;
    TokenHistory no_history;
    for (int i = 0; i < n; ++i) {
        GenImageState& im = active_[size_t(i)];
        const GenRequestState& rq = *im.rq;
        const float* cond = host_logits_.data() + size_t(out_row[size_t(i)]) * size_t(V);
        const float* unc = cond + V;
        const float w = rq.req.cfg;
        for (int64_t v = 0; v < V; ++v) {
            if (bf16) {  // torch bf16: each op rounds (facts §6.6)
                float d = round_bf16(cond[v] - unc[v]);
                float s = round_bf16(w * d);
                guided[size_t(v)] = round_bf16(unc[v] + s);
            } else {
                float d = cond[v] - unc[v];
                float s = w * d;
                guided[size_t(v)] = unc[v] + s;
            }
        }
        if (rq.record) {
            if (im.codes.empty()) im.step0_rows.assign(cond, cond + 2 * V);
            im.cfg_logits.insert(im.cfg_logits.end(), guided.begin(), guided.end());
        }
        const uint64_t k = im.codes.size();
        int32_t code;
        if (rq.req.greedy || rq.sampling.greedy()) {
            code = argmax(guided);
        } else {
            SamplingParams sp = rq.sampling;
            sp.seed = im.seed;
            code = sample_token(guided, sp, no_history, /*stream=*/0, /*step=*/k);
        }
        im.codes.push_back(code);
        im.prefilled = true;
        if (int(im.codes.size()) >= rq.steps) {
            im.done = Clock::now();
            cache_->release(im.slot_c);
            cache_->release(im.slot_u);
            im.slot_c = im.slot_u = -1;
            finished_.push_back(std::move(im));
            rep.finished++;
        } else {
            im.feed_row = int(feed_codes.size());
            feed_codes.push_back(code);
            still.push_back(std::move(im));
        }
    }
    active_ = std::move(still);

    // ---- feed back: gen_aligner(gen_embed(code)) for the images that go on ----
    if (!feed_codes.empty()) {
        const int64_t m = int64_t(feed_codes.size());
        Tensor codes = be.upload(Tensor::from_i32(feed_codes, {m}));
        Tensor fe = view_rows(feed_, be, m, H);
        Tensor ce = view_rows(code_, be, m, p_->heads.embed.dim(1));
        Tensor ft = view_rows(feed_tmp_, be, m, H);
        p_->heads.feed(be, fe, codes, ce, ft, bf16);
    }
    rep.images = n;
    rep.rows = R;
    return rep;
}

std::vector<GenImageState> GenEngine::take_finished() {
    std::vector<GenImageState> f;
    f.swap(finished_);
    for (auto& im : f) im.rq->outstanding--;
    return f;
}

}  // namespace janus
