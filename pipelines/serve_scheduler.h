// The `janus serve` scheduler: ONE thread owns the model and runs all work (include/janus/server.h).
//
// Every scheduler step is ONE forward of the shared LlamaModel over all rows in flight
// (pipelines/serve_batch.h), whatever their kind:
//   text  — chat without images and /v1/completions: a Generator row (prefill chunks, then one
//           token per step) read through lm_head;
//   vision— chat with image_url parts: at admission the images go through SigLIP + aligner once and
//           are spliced into the prompt's token embeddings [T, H]; from then on the request is a
//           Generator row like a text row (its prefill chunks are embedding rows), so it neither waits
//           for nor blocks the others;
//   image — /v1/images/generations: n images, 2 CFG rows each, fed gen_aligner embeddings, read
//           through gen_head; VQ decoding of a finished image runs between steps.
// On a text-only model (no vision tower) only text rows exist. Admission is FIFO, up to
// max_concurrent running requests (a text or vision request holds one KV slot; an image request's
// images take 2 slots each from a separate pool of 2·max_images_in_flight). Cancellation (client
// gone, timeout, shutdown) is checked before every step: the row leaves the batch at the next step.
// HTTP handler threads talk to a Job through its mutex/condvar only.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "janus/generate.h"
#include "janus/server.h"
#include "janus/text.h"
#include "janus/vision.h"

namespace janus {

class Tokenizer;
class ChatFormat;

enum class JobKind { text, vision, image };

struct Job {
    JobKind kind = JobKind::text;
    uint64_t id = 0;
    std::chrono::steady_clock::time_point deadline;

    // text
    std::vector<int32_t> prompt;
    SamplingParams sampling;
    int max_tokens = 16;
    std::vector<std::string> stop_strings;
    bool ignore_eos = false;  // extension: only max_tokens / stop strings end the reply
    // vision
    std::vector<RgbImage> images;
    std::string question;
    // image
    ImageRequest image_request;

    // ---- results (guarded by mu) ----
    std::mutex mu;
    std::condition_variable cv;
    std::string text;  // text produced and not yet taken by the handler
    bool done = false;
    std::string finish_reason;  // stop | length | cancelled | timeout
    std::string error;          // set when the job failed (status error_status)
    int error_status = 500;
    std::string error_param;    // the request parameter the error is about ("" = none)
    int64_t prompt_tokens = 0, completion_tokens = 0;
    std::vector<GeneratedImage> results;
    // Scheduler forwards counted when this job got its first token / finished (0 = not yet): which
    // steps a request lived in, e.g. to see that one did not wait for another.
    uint64_t first_token_step = 0, finish_step = 0;

    std::atomic<bool> cancel{false};  // set by the handler (disconnect, timeout)

    // Handler side: waits until text arrives, the job ends or `until`; returns the new text.
    std::string wait_text(std::chrono::steady_clock::time_point until);
    bool wait_done(std::chrono::steady_clock::time_point until);
};

// Batching evidence, counted per forward. A "text row" is a plain text request's row, a "vision row"
// a chat-with-images request's row, an image is 2 LLM rows.
struct SchedulerStats {
    int running = 0, queued = 0;
    uint64_t steps = 0;              // forwards run
    uint64_t text_steps = 0;         // forwards with text or vision rows
    uint64_t image_steps = 0;        // forwards with image rows
    uint64_t mixed_steps = 0;        // forwards with image rows AND text or vision rows
    uint64_t vision_text_steps = 0;  // forwards with vision rows AND plain text rows
    uint64_t vision_jobs = 0, completed = 0, cancelled = 0;
    int max_text_rows_in_step = 0;  // most plain text rows in one forward
    int max_vision_rows_in_step = 0;
    int max_images_in_step = 0;
    int max_rows_in_step = 0;  // most LLM rows (text + vision + 2·images) in one forward
};

class Scheduler {
public:
    // Opens the engines the model supports (text always; vision + image for Janus checkpoints).
    explicit Scheduler(const ServerOptions& options);
    ~Scheduler();

    bool has_vision() const;
    bool has_images() const;
    int image_size() const;  // native generation size (pixels per side)
    int64_t context() const;
    const Tokenizer& tokenizer() const;
    const ChatFormat& format() const;
    std::vector<int32_t> stop_ids() const;
    bool starts_thinking() const;    // the chat format opens "<think>" itself (R1)
    std::string model_name() const;  // ImageGenerator's name for PNG metadata

    // Queues a job; false when running + queued would exceed the limits (→ 429).
    bool submit(const std::shared_ptr<Job>& job);
    // Queues several jobs at once (all or none), so they are admitted in the same step.
    bool submit_all(const std::vector<std::shared_ptr<Job>>& jobs);
    // Stops taking jobs; lets running ones go on until `deadline_s` seconds, then cancels the rest;
    // joins the thread.
    void shutdown(double deadline_s);
    SchedulerStats stats() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace janus
