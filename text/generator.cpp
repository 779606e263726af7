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

std::vector<TokenEvent> Generator::step() {
    std::vector<TokenEvent> events;
    // Rows that end before computing anything.
    for (auto& r : rows_) {
        if (r.cancelled) events.push_back({r.handle, -1, FinishReason::cancelled});
        else if (r.req.max_tokens == 0 && r.fed >= int64_t(r.req.prompt.size()) - 1)
            events.push_back({r.handle, -1, FinishReason::max_tokens});
    }
    auto drop_finished = [&] {
        for (auto& e : events) {
            if (e.finished == FinishReason::none) continue;
            auto it = std::find_if(rows_.begin(), rows_.end(), [&](const Row& r) { return r.handle == e.handle; });
            if (it == rows_.end()) continue;
            if (it->own_slot) cache_->release(it->slot);
            rows_.erase(it);
        }
    };
    drop_finished();
    if (rows_.empty()) return events;

    // Build the batch: decode rows first (1 token each), then prefill chunks within the token budget.
    std::vector<SeqChunk> chunks;
    std::vector<size_t> row_of;
    std::vector<std::vector<int32_t>> storage(rows_.size());
    int64_t budget = max_step_tokens_;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < rows_.size(); i++) {
            Row& r = rows_[i];
            const int64_t P = int64_t(r.req.prompt.size());
            const bool decoding = r.fed >= P;
            if ((pass == 0) != decoding) continue;
            SeqChunk c;
            c.slot = r.slot;
            if (decoding) {
                storage[i] = {r.generated.back()};
                c.start = P + int64_t(r.generated.size()) - 1;
                budget -= 1;
            } else {
                if (budget <= 0 && !chunks.empty()) continue;
                int64_t n = std::min<int64_t>(P - r.fed, std::max<int64_t>(budget, 1));
                storage[i].assign(r.req.prompt.begin() + r.fed, r.req.prompt.begin() + r.fed + n);
                c.start = r.fed;
                budget -= n;
            }
            const bool completes = decoding || c.start + int64_t(storage[i].size()) == P;
            c.output = completes ? OutputRows::last : OutputRows::none;
            c.tokens = storage[i];
            chunks.push_back(c);
            row_of.push_back(i);
        }
    }
    StepOutputs out = model_->forward(chunks, *cache_, true);

    const int64_t V = model_->config().vocab_size;
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
    for (size_t ci = 0; ci < chunks.size(); ci++) {
        Row& r = rows_[row_of[ci]];
        const int64_t n = chunks[ci].size();
        const int64_t P = int64_t(r.req.prompt.size());
        if (r.fed < P) {
            r.fed += n;
            prompt_tokens_ += n;
        }
        if (out.first[ci] < 0) continue;
        float* row = logits_host.ptr<float>() + out.first[ci] * V;
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
    drop_finished();
    return events;
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
