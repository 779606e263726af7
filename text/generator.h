// Generator: batched autoregressive text generation on a LlamaModel + KvCache with continuous
// batching. Requests join at any time (add), each in its own KV slot; every step() runs ONE forward
// over all active rows: decoding rows contribute their last token, rows still reading their prompt
// contribute the next prefill chunk (chunked prefill, bounded by `max_step_tokens`). A row that
// finishes (stop id, max tokens, full context, cancel) leaves the batch at once; the others go on.
// Sampling is per row with its own seed/stream (text/sampling.h), so a row's tokens do not depend on
// the other rows in the batch.
//
// A row's prompt may come as ready-made embeddings [P, hidden] f32 (prompt_embeds: image
// understanding, SigLIP rows spliced into the token embeddings); its prefill chunks are then rows of
// that tensor, the ids in `prompt` still count for its length and the repetition history.
//
// Split step (prepare / complete): a caller that runs ONE forward shared with other work (the
// server's mixed batch, pipelines/serve_batch.h) appends this generator's chunks with prepare(),
// runs LlamaModel::forward over all chunks itself, and hands the logits of these chunks' output rows
// back to complete(). step() is exactly prepare + forward + complete.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "text/llama_model.h"
#include "text/sampling.h"

namespace janus {

enum class FinishReason : uint8_t { none, stop_token, max_tokens, context_full, cancelled };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "context", "cancelled"

struct GenerationRequest {
    std::vector<int32_t> prompt;      // full prompt ids (including what is already cached)
    SamplingParams sampling;
    int max_tokens = 256;
    std::vector<int32_t> stop_ids;    // generation ends after emitting one of these
    uint64_t stream = 0;              // RNG stream (e.g. request id)
    int slot = -1;                    // KV slot to use; −1 = take a free one (released at the end)
    int64_t cached_prefix = 0;        // prompt tokens already valid in `slot` (prompt-cache reuse)
    int64_t vocab_limit = 0;          // > 0: ids >= this are never chosen (embedding rows past the
                                      // tokenizer's vocabulary, e.g. Janus' 102400 vs ~100.6K, facts §1.2)
    Tensor prompt_embeds;             // optional [prompt.size(), hidden] f32 prompt embeddings (backend)
};

struct TokenEvent {
    int handle = -1;
    int32_t token = -1;               // −1 when the row finished without producing a token
    FinishReason finished = FinishReason::none;
};

class Generator {
public:
    Generator(LlamaModel& model, KvCache& cache, int64_t max_step_tokens = 512);

    // Queues a request; returns its handle. Throws janus::Error when the prompt does not fit the
    // context (prompt length >= capacity) or no slot is free.
    int add(GenerationRequest request);
    void cancel(int handle);          // finishes it at the next step (reason cancelled)
    bool idle() const { return rows_.empty(); }
    size_t active() const { return rows_.size(); }

    // One forward over all active rows; returns the tokens produced (and rows that finished).
    std::vector<TokenEvent> step();

    // Split step. prepare() appends this step's chunks to `chunks` (none when every row ended before
    // computing) and returns how many; the spans stay valid until complete(). Then the caller runs
    // forward() over `chunks` (with others) and calls complete() exactly once with the host logits
    // [*, vocab] f32 and, for each of this generator's chunks in order, its first output row in them
    // (−1 for none: prefill chunks that do not finish their prompt).
    size_t prepare(std::vector<SeqChunk>& chunks);
    std::vector<TokenEvent> complete(const Tensor& logits_host, std::span<const int64_t> first_rows);
    // Handles of the rows in the chunks of the last prepare(), in chunk order.
    const std::vector<int>& step_handles() const { return step_handles_; }

    // Convenience: run until all rows finish; returns each handle's generated tokens in add order.
    std::vector<std::vector<int32_t>> run_all();

    int64_t prompt_tokens_processed() const { return prompt_tokens_; }
    int64_t tokens_generated() const { return generated_tokens_; }

private:
    struct Row {
        int handle;
        GenerationRequest req;
        int slot;
        bool own_slot;
        int64_t fed = 0;                      // prompt tokens already in the cache
        std::vector<int32_t> generated;
        TokenHistory history;
        bool cancelled = false;
    };
    LlamaModel* model_;
    KvCache* cache_;
    int64_t max_step_tokens_;
    std::vector<Row> rows_;
    int next_handle_ = 0;
    int64_t prompt_tokens_ = 0, generated_tokens_ = 0;
    std::vector<float> logits_host_;
    // state between prepare() and complete()
    std::vector<TokenEvent> step_events_;
    std::vector<size_t> step_rows_;
    std::vector<int> step_handles_;
    std::vector<std::vector<int32_t>> step_storage_;
    std::vector<int64_t> step_sizes_;
    bool prepared_ = false;
    void drop_finished(const std::vector<TokenEvent>& events);
};

}  // namespace janus
