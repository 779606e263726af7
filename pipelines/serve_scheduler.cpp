// The `janus serve` scheduler thread (pipelines/serve_scheduler.h): admission (FIFO, limited to
// max_concurrent running jobs; a vision job's images are encoded here, once), one mixed forward per
// step over every text, vision and image row in flight (ServeBatch), cancellation and deadlines
// checked before every step, graceful drain on shutdown.
#include "pipelines/serve_scheduler.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "janus/chat_format.h"
#include "kernels/backend.h"
#include "pipelines/model_bundle.h"
#include "pipelines/serve_batch.h"
#include "pipelines/understand.h"
#include "text/generator.h"

namespace janus {

using Clock = std::chrono::steady_clock;

std::string Job::wait_text(Clock::time_point until) {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait_until(lk, until, [&] { return done || !text.empty(); });
    std::string t = std::move(text);
    text.clear();
    return t;
}

bool Job::wait_done(Clock::time_point until) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_until(lk, until, [&] { return done; });
}

namespace {

void finish_job(Job& j, const std::string& reason, const std::string& error = "", int status = 500) {
    std::lock_guard<std::mutex> lk(j.mu);
    if (j.done) return;
    j.done = true;
    j.finish_reason = reason;
    if (!error.empty()) {
        j.error = error;
        j.error_status = status;
    }
    j.cv.notify_all();
}

void append_text(Job& j, const std::string& s) {
    if (s.empty()) return;
    std::lock_guard<std::mutex> lk(j.mu);
    j.text += s;
    j.cv.notify_all();
}

struct TextRow {  // a text or vision job's Generator row
    std::shared_ptr<Job> job;
    std::optional<StreamDecoder> decoder;
    StopStringMatcher stops;
    int generated = 0;
    bool vision = false;
};

struct ImageJob {
    std::shared_ptr<Job> job;
    std::shared_ptr<GenRequestState> state;
};

constexpr int kMaxImagePromptTokens = 256;  // longest image prompt (as ImageGenerator's step-wise API)
constexpr int64_t kMaxStepTokens = 512;     // prefill tokens per step (chunked prefill)

}  // namespace

struct Scheduler::Impl {
    ServerOptions opt;
    ModelBundle bundle;
    Backend* backend = nullptr;
    GenParts parts;  // parts.lm: THE model; heads + VQ for Janus checkpoints
    bool janus = false;
    vision::VqConfig vq_cfg;
    std::unique_ptr<ImageEmbedder> vis;       // SigLIP + aligner (Janus)
    std::optional<GenPrompts> gen_prompts;    // image prompt rows (Janus)
    std::optional<ChatFormat> format;         // chat format of text rows
    std::optional<ChatFormat> vision_format;  // Janus format of vision rows (as `janus ask`)
    std::vector<int32_t> stop_ids, vision_stop_ids;
    bool thinking = false;
    int64_t capacity = 0;
    std::unique_ptr<ServeBatch> batch;

    mutable std::mutex mu;
    std::condition_variable cv;
    std::deque<std::shared_ptr<Job>> waiting;
    int running = 0;  // admitted, not finished (guarded by mu)
    bool stopping = false;
    Clock::time_point stop_deadline;
    SchedulerStats st;  // counters (guarded by mu)

    std::map<int, TextRow> text_rows;    // Generator handle → row (text and vision jobs)
    std::map<int, ImageJob> image_jobs;  // image request handle → job
    int next_image_handle = 1;
    uint64_t forwards = 0;  // forwards run so far (scheduler thread only)
    std::thread thread;

    void done_one(bool cancelled) {
        std::lock_guard<std::mutex> lk(mu);
        running--;
        st.completed++;
        if (cancelled) st.cancelled++;
    }
    void new_batch() {
        batch =
            std::make_unique<ServeBatch>(*parts.lm, janus ? &parts : nullptr, std::max(1, opt.max_concurrent),
                                         std::max(1, opt.max_images_in_flight), capacity, kMaxStepTokens);
    }
    void loop();
    void admit(const std::shared_ptr<Job>& j);
    void check_cancels(bool force);
    void step();
    void text_events(const std::vector<TokenEvent>& events);
    void finish_images();
    void fail_all(const std::string& why);
};

Scheduler::Scheduler(const ServerOptions& o) : impl_(std::make_unique<Impl>()) {
    Impl& im = *impl_;
    im.opt = o;
    if (o.threads > 0) set_cpu_threads(o.threads);
    BundleOptions bo;
    bo.require_tokenizer = true;
    im.bundle = open_model_bundle(o.model, bo);
    im.backend = &get_backend(o.device);
    LmRunOptions ro;
    ro.dtype = compute_dtype_from_name(o.dtype);
    im.parts.be = im.backend;
    im.parts.lm = build_language_model(im.bundle, *im.backend, ro);
    const Tokenizer& tok = *im.bundle.tokenizer;
    im.format = o.chat_format.empty() ? ChatFormat::detect(tok) : ChatFormat::by_name(o.chat_format);
    im.stop_ids = im.format->stop_ids(tok);
    if (auto e = tok.eos_id()) im.stop_ids.push_back(*e);
    for (int32_t e : im.bundle.lm.eos_ids) im.stop_ids.push_back(e);
    std::string probe = im.format->render({{"user", "x"}}, true);
    while (!probe.empty() && (probe.back() == '\n' || probe.back() == ' ')) probe.pop_back();
    im.thinking = probe.size() >= 7 && probe.compare(probe.size() - 7, 7, "<think>") == 0;
    int64_t ctx = std::min<int64_t>(o.ctx > 0 ? o.ctx : 4096, im.bundle.lm.max_position);
    im.janus = im.bundle.is_janus();
    if (im.janus) {
        // One model for everything: the image and vision parts are loaded around parts.lm.
        im.vq_cfg = load_gen_parts(im.parts, im.bundle);
        im.gen_prompts.emplace(tok, im.parts.image_tokens);
        im.vis = ImageEmbedder::load(im.bundle, *im.backend);
        im.vision_format = ChatFormat::by_name("janus");  // Understander's prompt (facts §3.4)
        im.vision_stop_ids = im.vision_format->stop_ids(tok);
        if (auto e = tok.eos_id()) im.vision_stop_ids.push_back(*e);
        for (int32_t e : im.bundle.lm.eos_ids) im.vision_stop_ids.push_back(e);
        // image rows need their prompt + all image tokens in one slot
        ctx = std::max<int64_t>(ctx, kMaxImagePromptTokens + im.parts.image_tokens);
    }
    im.capacity = ctx;
    im.new_batch();
    im.thread = std::thread([&im] { im.loop(); });
}

Scheduler::~Scheduler() {
    shutdown(0);
}

bool Scheduler::has_vision() const {
    return impl_->vis != nullptr;
}
bool Scheduler::has_images() const {
    return impl_->janus;
}
int Scheduler::image_size() const {
    return impl_->janus ? impl_->vq_cfg.image_size : 0;
}
int64_t Scheduler::context() const {
    return impl_->capacity;
}
const Tokenizer& Scheduler::tokenizer() const {
    return *impl_->bundle.tokenizer;
}
const ChatFormat& Scheduler::format() const {
    return *impl_->format;
}
std::vector<int32_t> Scheduler::stop_ids() const {
    return impl_->stop_ids;
}
bool Scheduler::starts_thinking() const {
    return impl_->thinking;
}
std::string Scheduler::model_name() const {
    std::filesystem::path p(impl_->bundle.dir);
    std::string n = p.filename().string();
    if (n.empty()) n = p.parent_path().filename().string();
    return n;
}

bool Scheduler::submit(const std::shared_ptr<Job>& job) {
    return submit_all({job});
}

bool Scheduler::submit_all(const std::vector<std::shared_ptr<Job>>& jobs) {
    Impl& im = *impl_;
    std::lock_guard<std::mutex> lk(im.mu);
    if (im.stopping) return false;
    if (im.running + int(im.waiting.size()) + int(jobs.size()) > im.opt.max_concurrent + im.opt.max_queue)
        return false;
    for (auto& j : jobs) im.waiting.push_back(j);
    im.cv.notify_all();
    return true;
}

void Scheduler::shutdown(double deadline_s) {
    Impl& im = *impl_;
    {
        std::lock_guard<std::mutex> lk(im.mu);
        if (!im.stopping) {
            im.stopping = true;
            im.stop_deadline =
                Clock::now() + std::chrono::milliseconds(int64_t(std::max(0.0, deadline_s) * 1000));
        }
        im.cv.notify_all();
    }
    if (im.thread.joinable()) im.thread.join();
}

SchedulerStats Scheduler::stats() const {
    std::lock_guard<std::mutex> lk(impl_->mu);
    SchedulerStats s = impl_->st;
    s.running = impl_->running;
    s.queued = int(impl_->waiting.size());
    return s;
}

void Scheduler::Impl::admit(const std::shared_ptr<Job>& j) {
    try {
        if (j->kind == JobKind::text || j->kind == JobKind::vision) {
            GenerationRequest r;
            r.sampling = j->sampling;
            r.max_tokens = j->max_tokens;
            r.stream = 0;  // same seed → same tokens, whatever else runs (sampling.h)
            const bool vision = j->kind == JobKind::vision;
            if (vision) {
                // SigLIP + aligner once, here; the row then prefills its embeddings step by step.
                VisionPrompt vp = make_vision_prompt(*vis, *parts.lm, *vision_format, j->images, j->question);
                j->prompt = std::move(vp.ids);
                r.prompt_embeds = vp.embeds;
                if (!j->ignore_eos) r.stop_ids = vision_stop_ids;
                // full vocabulary, as `janus ask` (Understander) samples
                std::lock_guard<std::mutex> lk(mu);
                st.vision_jobs++;
            } else {
                if (!j->ignore_eos) r.stop_ids = stop_ids;
                r.vocab_limit = bundle.tokenizer->vocab_size();
            }
            r.prompt = j->prompt;
            int h = batch->text().add(std::move(r));
            TextRow row;
            row.job = j;
            row.decoder.emplace(*bundle.tokenizer, true);
            row.stops = StopStringMatcher(j->stop_strings);
            row.vision = vision;
            text_rows.emplace(h, std::move(row));
        } else {
            ImageRequest r = j->image_request;
            r.dump_dir.clear();
            const int h = next_image_handle++;
            auto rq = gen_prompts->request(r, h);
            // The conditional rows hold the prompt; the unconditional rows the negative prompt, if any.
            const bool neg = rq->ids_u.size() > rq->ids_c.size() && r.negative_prompt.has_value();
            const size_t L = std::max(rq->ids_c.size(), rq->ids_u.size());
            if (int64_t(L) > kMaxImagePromptTokens) {
                const std::string which = neg ? "negative_prompt" : "prompt";
                {
                    std::lock_guard<std::mutex> lk(j->mu);
                    j->error_param = which;
                }
                throw Error(which + ": " + std::to_string(L) + " tokens, more than the " +
                            std::to_string(kMaxImagePromptTokens) + " an image prompt may have; shorten it");
            }
            batch->images()->add(rq);
            image_jobs[h] = ImageJob{j, rq};
        }
    } catch (const std::exception& e) {
        done_one(false);
        finish_job(*j, "error", e.what(), 400);
    }
}

void Scheduler::Impl::check_cancels(bool force) {
    const auto now = Clock::now();
    auto why = [&](const Job& j) -> const char* {
        if (force) return "cancelled";
        if (j.cancel.load()) return "cancelled";
        if (now >= j.deadline) return "timeout";
        return nullptr;
    };
    for (auto it = text_rows.begin(); it != text_rows.end();) {
        if (const char* r = why(*it->second.job)) {
            batch->text().cancel(it->first);  // the row leaves at the next step; its events are ignored
            done_one(true);
            finish_job(*it->second.job, r);
            it = text_rows.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = image_jobs.begin(); it != image_jobs.end();) {
        if (const char* r = why(*it->second.job)) {
            batch->images()->cancel(it->first);  // frees its KV slots now
            done_one(true);
            finish_job(*it->second.job, r);
            it = image_jobs.erase(it);
        } else {
            ++it;
        }
    }
}

void Scheduler::Impl::fail_all(const std::string& why) {
    for (auto& [h, row] : text_rows) {
        done_one(false);
        finish_job(*row.job, "error", why, 500);
    }
    for (auto& [h, ij] : image_jobs) {
        done_one(false);
        finish_job(*ij.job, "error", why, 500);
    }
    text_rows.clear();
    image_jobs.clear();
}

void Scheduler::Impl::step() {
    if (batch->idle()) return;
    MixedStepReport rep;
    try {
        rep = batch->step();
    } catch (const std::exception& e) {
        // A failed forward leaves the batch unusable: fail every row, start a fresh batch (and cache).
        fail_all(std::string("step failed: ") + e.what());
        new_batch();
        return;
    }
    if (rep.ran) {
        forwards++;
        int text = 0, vision = 0;
        for (int h : rep.text_handles) {
            auto it = text_rows.find(h);
            if (it == text_rows.end()) continue;
            (it->second.vision ? vision : text)++;
        }
        std::lock_guard<std::mutex> lk(mu);
        st.steps++;
        if (text + vision > 0) st.text_steps++;
        if (rep.image.images > 0) st.image_steps++;
        if (rep.image.images > 0 && text + vision > 0) st.mixed_steps++;
        if (text > 0 && vision > 0) st.vision_text_steps++;
        st.max_text_rows_in_step = std::max(st.max_text_rows_in_step, text);
        st.max_vision_rows_in_step = std::max(st.max_vision_rows_in_step, vision);
        st.max_images_in_step = std::max(st.max_images_in_step, rep.image.images);
        st.max_rows_in_step = std::max(st.max_rows_in_step, int(rep.text_handles.size()) + rep.image.rows);
    }
    text_events(rep.text_events);
    finish_images();
}

void Scheduler::Impl::text_events(const std::vector<TokenEvent>& events) {
    for (const TokenEvent& ev : events) {
        auto it = text_rows.find(ev.handle);
        if (it == text_rows.end()) continue;  // cancelled earlier
        TextRow& row = it->second;
        Job& j = *row.job;
        bool stop_string = false;
        if (ev.token >= 0) {
            row.generated++;
            if (row.generated == 1) {
                std::lock_guard<std::mutex> lk(j.mu);
                j.first_token_step = forwards;
            }
            if (ev.finished != FinishReason::stop_token) {
                append_text(j, row.stops.push(row.decoder->push(ev.token)));
                stop_string = row.stops.stopped();
            }
        }
        if (ev.finished != FinishReason::none || stop_string) {
            if (!stop_string) {
                std::string tail = row.stops.push(row.decoder->finish());
                stop_string = row.stops.stopped();  // the last character may complete a stop string
                append_text(j, stop_string ? tail : tail + row.stops.finish());
            } else {
                batch->text().cancel(ev.handle);
            }
            {
                std::lock_guard<std::mutex> lk(j.mu);
                j.completion_tokens = row.generated;
                j.prompt_tokens = int64_t(j.prompt.size());
                j.finish_step = forwards;
            }
            const char* reason = stop_string                               ? "stop"
                                 : ev.finished == FinishReason::stop_token ? "stop"
                                 : ev.finished == FinishReason::cancelled  ? "cancelled"
                                                                           : "length";
            done_one(ev.finished == FinishReason::cancelled);
            finish_job(j, reason);
            text_rows.erase(it);
        }
    }
}

void Scheduler::Impl::finish_images() {
    GenEngine* eng = batch->images();
    if (!eng) return;
    std::vector<GenImageState> fin = eng->take_finished();
    if (fin.empty()) return;
    std::vector<int> touched;
    for (GenImageState& s : fin) {
        auto it = image_jobs.find(s.rq->handle);
        if (it == image_jobs.end()) continue;
        GeneratedImage g;
        try {
            g = finish_gen_image(parts, vq_cfg.image_size, s, true);  // VQ decode, one image at a time
        } catch (const std::exception& e) {
            eng->cancel(it->first);
            done_one(false);
            finish_job(*it->second.job, "error", std::string("image decode failed: ") + e.what(), 500);
            image_jobs.erase(it);
            continue;
        }
        touched.push_back(it->first);
        std::lock_guard<std::mutex> lk(it->second.job->mu);
        it->second.job->results.push_back(std::move(g));
    }
    // Only after every image of this step is attached: several may belong to one request.
    for (int h : touched) {
        auto it = image_jobs.find(h);
        if (it == image_jobs.end() || it->second.state->outstanding > 0) continue;
        {
            std::lock_guard<std::mutex> lk(it->second.job->mu);
            it->second.job->finish_step = forwards;
        }
        done_one(false);
        finish_job(*it->second.job, "stop");
        image_jobs.erase(it);
    }
}

void Scheduler::Impl::loop() {
    for (;;) {
        std::vector<std::shared_ptr<Job>> admitted;
        bool force_cancel = false;
        {
            std::unique_lock<std::mutex> lk(mu);
            auto busy = [&] { return !text_rows.empty() || !image_jobs.empty() || !batch->idle(); };
            if (!busy() && waiting.empty()) {
                if (stopping) break;
                cv.wait_for(lk, std::chrono::milliseconds(100));
                continue;
            }
            if (stopping && Clock::now() >= stop_deadline) {
                force_cancel = true;
                for (auto& j : waiting) {
                    finish_job(*j, "cancelled", "the server is shutting down", 503);
                    st.completed++;
                    st.cancelled++;
                }
                waiting.clear();
            }
            // text and vision rows hold one KV slot each (max_concurrent of them); image requests
            // queue inside the engine for their own slots
            int rows = int(text_rows.size());
            while (!waiting.empty() && running < opt.max_concurrent) {
                auto& j = waiting.front();
                if (j->kind != JobKind::image && rows >= opt.max_concurrent) break;
                if (j->kind != JobKind::image) rows++;
                admitted.push_back(j);
                waiting.pop_front();
                running++;
            }
        }
        for (auto& j : admitted) admit(j);
        check_cancels(force_cancel);
        step();
    }
    // Let cancelled rows leave (frees their KV slots) before the batch goes away.
    try {
        while (!batch->idle()) batch->step();
    } catch (...) {
    }
}

}  // namespace janus
