// The `janus serve` scheduler thread (pipelines/serve_scheduler.h): admission (FIFO, limited to
// max_concurrent running jobs), one text step over all text rows [rows, 1 or chunk] then one image
// step over all images in flight [2·images, 1], vision jobs run whole between steps, cancellation and
// deadlines checked before every step, graceful drain on shutdown.
#include "pipelines/serve_scheduler.h"

#include <algorithm>
#include <map>
#include <optional>

#include "janus/chat_format.h"
#include "janus/understand.h"
#include "kernels/backend.h"
#include "pipelines/model_bundle.h"
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

struct VisionAbort {};  // thrown from Understander's on_text to stop a vision job early

struct TextRow {
    std::shared_ptr<Job> job;
    std::optional<StreamDecoder> decoder;
    StopStringMatcher stops;
    int generated = 0;
};

}  // namespace

struct Scheduler::Impl {
    ServerOptions opt;
    ModelBundle bundle;
    Backend* backend = nullptr;
    std::unique_ptr<LlamaModel> model;
    std::unique_ptr<KvCache> cache;
    std::unique_ptr<Generator> gen;
    std::optional<ChatFormat> format;
    std::vector<int32_t> stop_ids;
    bool thinking = false;
    std::unique_ptr<Understander> understander;
    std::unique_ptr<ImageGenerator> imagegen;

    mutable std::mutex mu;
    std::condition_variable cv;
    std::deque<std::shared_ptr<Job>> waiting;
    int running = 0;  // admitted, not finished (guarded by mu)
    bool stopping = false;
    Clock::time_point stop_deadline;
    SchedulerStats st;  // counters (guarded by mu)

    std::map<int, TextRow> text_rows;                // Generator handle → row
    std::map<int, std::shared_ptr<Job>> image_jobs;  // ImageGenerator handle → job
    std::deque<std::shared_ptr<Job>> vision_queue;
    std::thread thread;

    void done_one(bool cancelled) {
        std::lock_guard<std::mutex> lk(mu);
        running--;
        st.completed++;
        if (cancelled) st.cancelled++;
    }
    void loop();
    void admit(const std::shared_ptr<Job>& j);
    void check_cancels(bool force);
    void text_step();
    void image_step();
    void vision_one();
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
    im.model = build_language_model(im.bundle, *im.backend, ro);
    int64_t ctx = std::min<int64_t>(o.ctx > 0 ? o.ctx : 4096, im.bundle.lm.max_position);
    int slots = std::max(1, o.max_concurrent);
    im.cache = std::make_unique<KvCache>(*im.backend, im.bundle.lm, slots, ctx, im.model->default_kv_dtype());
    im.gen = std::make_unique<Generator>(*im.model, *im.cache, 512);
    const Tokenizer& tok = *im.bundle.tokenizer;
    im.format = o.chat_format.empty() ? ChatFormat::detect(tok) : ChatFormat::by_name(o.chat_format);
    im.stop_ids = im.format->stop_ids(tok);
    if (auto e = tok.eos_id()) im.stop_ids.push_back(*e);
    for (int32_t e : im.bundle.lm.eos_ids) im.stop_ids.push_back(e);
    std::string probe = im.format->render({{"user", "x"}}, true);
    while (!probe.empty() && (probe.back() == '\n' || probe.back() == ' ')) probe.pop_back();
    im.thinking = probe.size() >= 7 && probe.compare(probe.size() - 7, 7, "<think>") == 0;
    if (im.bundle.is_janus()) {
        UnderstandOptions uo;
        uo.model = o.model;
        uo.device = o.device;
        uo.dtype = o.dtype;
        uo.max_new_tokens = std::max(1, o.max_tokens);
        im.understander = Understander::open(uo);
        ImageGenOptions go;
        go.model = o.model;
        go.device = o.device;
        go.dtype = o.dtype;
        im.imagegen = ImageGenerator::open(go);
        im.imagegen->configure(std::max(1, o.max_images_in_flight), 256);
    }
    im.thread = std::thread([&im] { im.loop(); });
}

Scheduler::~Scheduler() {
    shutdown(0);
}

bool Scheduler::has_vision() const {
    return impl_->understander != nullptr;
}
bool Scheduler::has_images() const {
    return impl_->imagegen != nullptr;
}
int Scheduler::image_size() const {
    return impl_->imagegen ? impl_->imagegen->image_size() : 0;
}
int64_t Scheduler::context() const {
    return impl_->cache->capacity();
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
    return impl_->imagegen ? impl_->imagegen->model_name() : impl_->bundle.dir;
}

bool Scheduler::submit(const std::shared_ptr<Job>& job) {
    Impl& im = *impl_;
    std::lock_guard<std::mutex> lk(im.mu);
    if (im.stopping) return false;
    if (im.running + int(im.waiting.size()) >= im.opt.max_concurrent + im.opt.max_queue) return false;
    im.waiting.push_back(job);
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
        if (j->kind == JobKind::text) {
            GenerationRequest r;
            r.prompt = j->prompt;
            r.sampling = j->sampling;
            r.max_tokens = j->max_tokens;
            if (!j->ignore_eos) r.stop_ids = stop_ids;
            r.stream = 0;  // same seed → same tokens, whatever else runs (sampling.h)
            r.vocab_limit = bundle.tokenizer->vocab_size();
            int h = gen->add(std::move(r));
            TextRow row;
            row.job = j;
            row.decoder.emplace(*bundle.tokenizer, true);
            row.stops = StopStringMatcher(j->stop_strings);
            text_rows.emplace(h, std::move(row));
        } else if (j->kind == JobKind::image) {
            int h = imagegen->submit(j->image_request);
            image_jobs[h] = j;
        } else {
            vision_queue.push_back(j);
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
            gen->cancel(it->first);  // the row leaves at the next step; its events are ignored
            done_one(true);
            finish_job(*it->second.job, r);
            it = text_rows.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = image_jobs.begin(); it != image_jobs.end();) {
        if (const char* r = why(*it->second)) {
            imagegen->cancel(it->first);
            done_one(true);
            finish_job(*it->second, r);
            it = image_jobs.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = vision_queue.begin(); it != vision_queue.end();) {
        if (const char* r = why(**it)) {
            done_one(true);
            finish_job(**it, r);
            it = vision_queue.erase(it);
        } else {
            ++it;
        }
    }
}

void Scheduler::Impl::text_step() {
    if (gen->idle()) return;
    {
        std::lock_guard<std::mutex> lk(mu);
        st.text_steps++;
        st.max_text_rows_in_step = std::max(st.max_text_rows_in_step, int(gen->active()));
    }
    std::vector<TokenEvent> events;
    try {
        events = gen->step();
    } catch (const std::exception& e) {
        // A failed forward leaves the batch unusable: fail every text row, start a fresh generator.
        for (auto& [h, row] : text_rows) {
            done_one(false);
            finish_job(*row.job, "error", std::string("text step failed: ") + e.what(), 500);
        }
        text_rows.clear();
        gen = std::make_unique<Generator>(*model, *cache, 512);
        return;
    }
    for (const TokenEvent& ev : events) {
        auto it = text_rows.find(ev.handle);
        if (it == text_rows.end()) continue;  // cancelled earlier
        TextRow& row = it->second;
        Job& j = *row.job;
        bool stop_string = false;
        if (ev.token >= 0) {
            row.generated++;
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
                gen->cancel(ev.handle);
            }
            {
                std::lock_guard<std::mutex> lk(j.mu);
                j.completion_tokens = row.generated;
                j.prompt_tokens = int64_t(j.prompt.size());
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

void Scheduler::Impl::image_step() {
    if (!imagegen || imagegen->idle()) return;
    try {
        StepReport rep = imagegen->step();
        {
            std::lock_guard<std::mutex> lk(mu);
            st.image_steps++;
            st.max_images_in_step = std::max(st.max_images_in_step, rep.images);
        }
        std::vector<int> touched;
        for (GeneratedImage& g : imagegen->take_finished(true)) {
            auto it = image_jobs.find(g.request);
            if (it == image_jobs.end()) continue;
            touched.push_back(it->first);
            std::lock_guard<std::mutex> lk(it->second->mu);
            it->second->results.push_back(std::move(g));
        }
        // Only after every image of this step is attached: several may belong to one request.
        for (int h : touched) {
            auto it = image_jobs.find(h);
            if (it == image_jobs.end() || !imagegen->request_done(h)) continue;
            done_one(false);
            finish_job(*it->second, "stop");
            image_jobs.erase(it);
        }
    } catch (const std::exception& e) {
        for (auto& [h, j] : image_jobs) {
            try {
                imagegen->cancel(h);
            } catch (...) {
            }
            done_one(false);
            finish_job(*j, "error", std::string("image step failed: ") + e.what(), 500);
        }
        image_jobs.clear();
    }
}

void Scheduler::Impl::vision_one() {
    if (vision_queue.empty()) return;
    std::shared_ptr<Job> j = vision_queue.front();
    vision_queue.pop_front();
    {
        std::lock_guard<std::mutex> lk(mu);
        st.vision_jobs++;
    }
    int pieces = 0;
    StopStringMatcher stops(j->stop_strings);
    bool stop_string = false;
    try {
        UnderstandResult r = understander->ask(j->images, j->question, [&](const std::string& piece) {
            if (j->cancel.load() || Clock::now() >= j->deadline) throw VisionAbort{};
            append_text(*j, stops.push(piece));
            if (stops.stopped()) {
                stop_string = true;
                throw VisionAbort{};
            }
            if (++pieces >= j->max_tokens) throw VisionAbort{};
        });
        append_text(*j, stops.finish());
        {
            std::lock_guard<std::mutex> lk(j->mu);
            j->prompt_tokens = r.prompt_tokens;
            j->completion_tokens = int64_t(r.tokens.size());
        }
        done_one(false);
        finish_job(*j, r.finish_reason == "stop" ? "stop" : "length");
    } catch (const VisionAbort&) {
        bool cancelled = j->cancel.load();
        {
            std::lock_guard<std::mutex> lk(j->mu);
            j->completion_tokens = pieces;
        }
        done_one(cancelled);
        finish_job(*j, stop_string                   ? "stop"
                       : cancelled                   ? "cancelled"
                       : Clock::now() >= j->deadline ? "timeout"
                                                     : "length");
    } catch (const std::exception& e) {
        done_one(false);
        finish_job(*j, "error", e.what(), 400);
    }
}

void Scheduler::Impl::loop() {
    for (;;) {
        std::vector<std::shared_ptr<Job>> admitted;
        bool force_cancel = false;
        {
            std::unique_lock<std::mutex> lk(mu);
            auto busy = [&] { return !text_rows.empty() || !image_jobs.empty() || !vision_queue.empty(); };
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
            while (!waiting.empty() && running < opt.max_concurrent) {
                auto& j = waiting.front();
                if (j->kind == JobKind::text && int(gen->active()) >= cache->slots()) break;
                admitted.push_back(j);
                waiting.pop_front();
                running++;
            }
        }
        for (auto& j : admitted) admit(j);
        check_cancels(force_cancel);
        text_step();
        check_cancels(force_cancel);
        image_step();
        vision_one();
    }
    // Drain rows cancelled after their jobs were finished (free the KV slots).
    try {
        while (!gen->idle()) gen->step();
    } catch (...) {
    }
}

}  // namespace janus
