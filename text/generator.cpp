// Generator implementation (see text/generator.h).
#include "text/generator.h"

#include <algorithm>
#include <cmath>

#include "janus/error.h"

namespace janus {

const char* finish_reason_name(FinishReason r) {
    switch (r) {
        case FinishReason::none: return "none";
        case FinishReason::stop_token: return "stop";
        case FinishReason::max_tokens: return "length";
        case FinishReason::context_full: return "context";
        case FinishReason::cancelled: return "cancelled";
    }
    return "?";
}

Generator::Generator(LlamaModel& model, KvCache& cache, int64_t max_step_tokens)
    : model_(&model), cache_(&cache), max_step_tokens_(std::max<int64_t>(max_step_tokens, 1)) {}

int Generator::add(GenerationRequest request) {
    request.sampling.validate();
    if (request.prompt.empty()) throw Error("generate: the prompt is empty (need at least one token, e.g. BOS)");
    if (request.max_tokens < 0) throw Error("generate: max_tokens must be >= 0");
    if (int64_t(request.prompt.size()) >= cache_->capacity())
        throw Error("context overflow: the prompt is " + std::to_string(request.prompt.size()) +
                    " tokens but the context holds " + std::to_string(cache_->capacity()) +
                    " (raise --ctx, shorten the prompt, or /reset the conversation)");
    if (request.prompt_embeds.defined() &&
        (request.prompt_embeds.ndim() != 2 || request.prompt_embeds.dim(0) != int64_t(request.prompt.size()) ||
         request.prompt_embeds.dim(1) != model_->config().hidden || request.prompt_embeds.dtype() != DType::f32))
        throw Error("generate: prompt_embeds must be f32 [" + std::to_string(request.prompt.size()) + ", " +
                    std::to_string(model_->config().hidden) + "] (one row per prompt id), got " +
                    request.prompt_embeds.str());
    Row r;
    r.handle = next_handle_++;
    r.own_slot = request.slot < 0;
    r.slot = r.own_slot ? cache_->acquire() : request.slot;
    for (auto& o : rows_)
        if (o.slot == r.slot) throw Error("generate: KV slot " + std::to_string(r.slot) + " is already in use");
    // Reuse the cached prefix, but always feed at least the last prompt token (its logits are needed).
    int64_t reuse = r.own_slot ? 0 : std::min<int64_t>(request.cached_prefix, cache_->length(r.slot));
    reuse = std::clamp<int64_t>(reuse, 0, int64_t(request.prompt.size()) - 1);
    r.fed = reuse;
    r.history.add_prompt(request.prompt);
    r.req = std::move(request);
    rows_.push_back(std::move(r));
    return rows_.back().handle;
}

void Generator::cancel(int handle) {
    for (auto& r : rows_)
        if (r.handle == handle) r.cancelled = true;
}

void Generator::drop_finished(const std::vector<TokenEvent>& events) {
    for (auto& e : events) {
        if (e.finished == FinishReason::none) continue;
        auto it = std::find_if(rows_.begin(), rows_.end(), [&](const Row& r) { return r.handle == e.handle; });
        if (it == rows_.end()) continue;
        if (it->own_slot) cache_->release(it->slot);
        rows_.erase(it);
    }
}

size_t Generator::prepare(std::vector<SeqChunk>& chunks) {
    if (prepared_) throw Error("Generator::prepare: the previous step was not completed");
    prepared_ = true;
    step_events_.clear();
    step_rows_.clear();
    step_handles_.clear();
    step_sizes_.clear();
    // Rows that end before computing anything.
    for (auto& r : rows_) {
        if (r.cancelled) step_events_.push_back({r.handle, -1, FinishReason::cancelled});
        else if (r.req.max_tokens == 0 && r.fed >= int64_t(r.req.prompt.size()) - 1)
            step_events_.push_back({r.handle, -1, FinishReason::max_tokens});
    }
    drop_finished(step_events_);
    if (rows_.empty()) return 0;

    // Build the batch: decode rows first (1 token each), then prefill chunks within the token budget.
    step_storage_.assign(rows_.size(), {});
    const size_t first = chunks.size();
    int64_t budget = max_step_tokens_;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < rows_.size(); i++) {
            Row& r = rows_[i];
            const int64_t P = int64_t(r.req.prompt.size());
            const bool decoding = r.fed >= P;
            if ((pass == 0) != decoding) continue;
            SeqChunk c;
            c.slot = r.slot;
            int64_t n = 1;
            if (decoding) {
                step_storage_[i] = {r.generated.back()};
                c.start = P + int64_t(r.generated.size()) - 1;
                c.tokens = step_storage_[i];
                budget -= 1;
            } else {
                if (budget <= 0 && chunks.size() > first) continue;
                n = std::min<int64_t>(P - r.fed, std::max<int64_t>(budget, 1));
                c.start = r.fed;
                if (r.req.prompt_embeds.defined()) {
                    c.embeds = r.req.prompt_embeds.rows(r.fed, r.fed + n);
                } else {
                    step_storage_[i].assign(r.req.prompt.begin() + r.fed, r.req.prompt.begin() + r.fed + n);
                    c.tokens = step_storage_[i];
                }
                budget -= n;
            }
            const bool completes = decoding || c.start + n == P;
            c.output = completes ? OutputRows::last : OutputRows::none;
            chunks.push_back(c);
            step_rows_.push_back(i);
            step_handles_.push_back(r.handle);
            step_sizes_.push_back(n);
        }
    }
    return chunks.size() - first;
}

std::vector<TokenEvent> Generator::complete(const Tensor& logits_host, std::span<const int64_t> first_rows) {
    if (!prepared_) throw Error("Generator::complete: no step was prepared");
    prepared_ = false;
    if (first_rows.size() != step_rows_.size())
        throw Error("Generator::complete: got output rows for " + std::to_string(first_rows.size()) +
                    " chunks, the step had " + std::to_string(step_rows_.size()));
    std::vector<TokenEvent> events = std::move(step_events_);
    step_events_.clear();
    const int64_t V = model_->config().vocab_size;
    const size_t before = events.size();
    for (size_t ci = 0; ci < step_rows_.size(); ci++) {
        Row& r = rows_[step_rows_[ci]];
        const int64_t n = step_sizes_[ci];
        const int64_t P = int64_t(r.req.prompt.size());
        if (r.fed < P) {
            r.fed += n;
            prompt_tokens_ += n;
        }
        if (first_rows[ci] < 0) continue;
        if (!logits_host.defined() || logits_host.dim(1) != V || first_rows[ci] >= logits_host.dim(0))
            throw Error("Generator::complete: logits do not hold output row " + std::to_string(first_rows[ci]));
        const float* row = logits_host.ptr<float>() + first_rows[ci] * V;
        std::vector<float> scratch(row, row + V);
        if (r.req.vocab_limit > 0 && r.req.vocab_limit < V)
            std::fill(scratch.begin() + r.req.vocab_limit, scratch.end(), -INFINITY);
        int32_t tok = sample_token(scratch, r.req.sampling, r.history, r.req.stream, r.generated.size());
        r.generated.push_back(tok);
        r.history.add_generated(tok);
        generated_tokens_++;
        FinishReason fin = FinishReason::none;
        if (std::find(r.req.stop_ids.begin(), r.req.stop_ids.end(), tok) != r.req.stop_ids.end())
            fin = FinishReason::stop_token;
        else if (int64_t(r.generated.size()) >= r.req.max_tokens)
            fin = FinishReason::max_tokens;
        else if (P + int64_t(r.generated.size()) > cache_->capacity())
            fin = FinishReason::context_full;  // the token cannot be fed back: no room at its position
        events.push_back({r.handle, tok, fin});
    }
    step_rows_.clear();
    step_storage_.clear();
    drop_finished(std::vector<TokenEvent>(events.begin() + std::ptrdiff_t(before), events.end()));
    return events;
}

std::vector<TokenEvent> Generator::step() {
    std::vector<SeqChunk> chunks;
    if (prepare(chunks) == 0) return complete(Tensor(), {});
    StepOutputs out = model_->forward(chunks, *cache_, true);
    Tensor logits_host;
    if (out.logits.defined()) {
        if (out.logits.is_cpu()) {
            logits_host = out.logits;
        } else {
            logits_host_.resize(size_t(out.logits.numel()));
            logits_host = Tensor(logits_host_.data(), DType::f32, out.logits.shape());
            model_->backend().copy(logits_host, out.logits);
        }
    }
    return complete(logits_host, out.first);
}

std::vector<std::vector<int32_t>> Generator::run_all() {
    std::vector<int> handles;
    for (auto& r : rows_) handles.push_back(r.handle);
    std::vector<std::vector<int32_t>> out(handles.size());
    while (!idle()) {
        for (auto& e : step()) {
            auto it = std::find(handles.begin(), handles.end(), e.handle);
            if (it != handles.end() && e.token >= 0) out[size_t(it - handles.begin())].push_back(e.token);
        }
    }
    return out;
}

}  // namespace janus
