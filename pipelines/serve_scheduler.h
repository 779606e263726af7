// The `janus serve` scheduler: ONE thread owns the models and runs all work (include/janus/server.h).
//
// Job kinds and how they share the machine:
//   text  — chat without images and /v1/completions: a row of a continuous-batching Generator
//           (text/generator.h) over one LlamaModel + KvCache [slots, ctx]; every text step is one
//           forward over all text rows (prefill chunks and decode tokens together).
//   image — /v1/images/generations: a request of the step-wise ImageGenerator; every image step is
//           one forward over all images in flight (2 CFG rows each).
//   vision— chat with image_url parts: Understander::ask, run to completion between steps (the
//           public understanding API has no step-wise form yet, so vision rows do not share steps).
// Text and image rows cannot share one forward (different models' heads, embedding inputs), so the
// loop alternates: one text step, one image step, repeat. A finished or cancelled row leaves its
// engine at the next step. HTTP handler threads talk to a Job through its mutex/condvar only.
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
    int64_t prompt_tokens = 0, completion_tokens = 0;
    std::vector<GeneratedImage> results;

    std::atomic<bool> cancel{false};  // set by the handler (disconnect, timeout)

    // Handler side: waits until text arrives, the job ends or `until`; returns the new text.
    std::string wait_text(std::chrono::steady_clock::time_point until);
    bool wait_done(std::chrono::steady_clock::time_point until);
};

struct SchedulerStats {
    int running = 0, queued = 0;
    uint64_t text_steps = 0, image_steps = 0, vision_jobs = 0, completed = 0, cancelled = 0;
    int max_text_rows_in_step = 0;  // most text rows seen in one forward (batching evidence)
    int max_images_in_step = 0;
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
    // Stops taking jobs; lets running ones go on until `deadline_s` seconds, then cancels the rest;
    // joins the thread.
    void shutdown(double deadline_s);
    SchedulerStats stats() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace janus
