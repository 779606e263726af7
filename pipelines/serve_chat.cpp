// `janus serve` text routes: POST /v1/chat/completions (text, and image_url parts as data: URLs →
// a vision job) and POST /v1/completions (raw prompt). Non-streaming answers wait for the job;
// stream: true answers are server-sent events in the OpenAI chunk format ending with "data: [DONE]".
// R1-style "<think>…</think>" output is split into `reasoning_content` (DeepSeek API style).
#include <chrono>
#include <random>

#include "janus/chat.h"
#include "janus/chat_format.h"
#include "janus/tokenizer.h"
#include "pipelines/serve_util.h"
#include "vision/image_io.h"

namespace janus::serve {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct ParsedChat {
    std::vector<ChatMessage> messages;
    std::vector<RgbImage> images;
    std::string last_user_text;
};

ParsedChat parse_messages(const json& body, const Context& ctx) {
    auto it = body.find("messages");
    if (it == body.end() || !it->is_array() || it->empty())
        throw ApiError{400, "'messages' must be a non-empty array of {role, content} objects", "messages",
                       "invalid_type"};
    ParsedChat pc;
    std::vector<std::pair<std::string, std::string>> pending;  // image bytes, parameter
    for (size_t i = 0; i < it->size(); ++i) {
        const json& m = (*it)[i];
        const std::string where = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) throw ApiError{400, where + " must be an object", where, "invalid_type"};
        auto role = opt_string(m, "role");
        if (!role) throw ApiError{400, where + ".role is required", where + ".role", "invalid_type"};
        std::string r = *role == "developer" ? "system" : *role;
        if (r != "system" && r != "user" && r != "assistant")
            throw ApiError{
                400, where + ".role '" + *role + "' is not supported (system, developer, user, assistant)",
                where + ".role", "invalid_value"};
        std::string text;
        auto c = m.find("content");
        if (c == m.end() || c->is_null()) {
            if (r != "assistant")
                throw ApiError{400, where + ".content is required", where + ".content", "invalid_type"};
        } else if (c->is_string()) {
            text = c->get<std::string>();
        } else if (c->is_array()) {
            for (size_t k = 0; k < c->size(); ++k) {
                const json& part = (*c)[k];
                const std::string pw = where + ".content[" + std::to_string(k) + "]";
                if (!part.is_object()) throw ApiError{400, pw + " must be an object", pw, "invalid_type"};
                auto type = opt_string(part, "type");
                if (type == "text") {
                    auto t = opt_string(part, "text");
                    if (!t) throw ApiError{400, pw + ".text must be a string", pw + ".text", "invalid_type"};
                    if (!text.empty()) text += "\n";
                    text += *t;
                } else if (type == "image_url") {
                    if (r != "user")
                        throw ApiError{400, pw + ": images are accepted in user messages only", pw};
                    auto iu = part.find("image_url");
                    std::string url;
                    if (iu != part.end() && iu->is_string())
                        url = iu->get<std::string>();
                    else if (iu != part.end() && iu->is_object() && iu->contains("url") &&
                             (*iu)["url"].is_string())
                        url = (*iu)["url"].get<std::string>();
                    else
                        throw ApiError{400,
                                       pw + ".image_url must be {\"url\": \"data:image/...;base64,...\"}",
                                       pw + ".image_url", "invalid_type"};
                    if (!ctx.sched->has_vision())
                        throw ApiError{400, "the model '" + ctx.model_id + "' does not accept images", pw,
                                       "vision_not_supported"};
                    if (int(pending.size()) >= ctx.opt.max_input_images)
                        throw ApiError{400,
                                       "more than " + std::to_string(ctx.opt.max_input_images) +
                                           " images in one request (--max-input-images)",
                                       pw + ".image_url", "too_many_images"};
                    pending.push_back({decode_data_url(url, pw + ".image_url.url"), pw + ".image_url"});
                } else {
                    throw ApiError{400, pw + ".type must be \"text\" or \"image_url\"", pw + ".type",
                                   "invalid_value"};
                }
            }
        } else {
            throw ApiError{400, where + ".content must be a string or an array of parts", where + ".content",
                           "invalid_type"};
        }
        if (r == "user") pc.last_user_text = text;
        pc.messages.push_back({r, text});
    }
    // Sizes from the image headers first: a request over the per-image or per-request pixel limit
    // is refused before anything is decoded.
    int64_t total = 0;
    for (const auto& [bytes, param] : pending) {
        vision::ImageHeader h;
        try {
            h = vision::probe_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), param);
        } catch (const std::exception& e) {
            throw ApiError{400, std::string("the image could not be used: ") + e.what(), param, "invalid_image"};
        }
        const int64_t px = h.width * h.height;
        if (px > ctx.opt.max_image_pixels)
            throw ApiError{400,
                           param + " is " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                               ", over the pixel limit of " + std::to_string(ctx.opt.max_image_pixels) +
                               " (--max-image-pixels); downscale it first",
                           param, "invalid_image"};
        total += px;
        if (total > ctx.opt.max_request_pixels)
            throw ApiError{400,
                           "the request's images have more than " + std::to_string(ctx.opt.max_request_pixels) +
                               " pixels together (--max-request-pixels); send fewer or smaller images",
                           param, "too_many_pixels"};
    }
    for (auto& [bytes, param] : pending) {
        ImageReadOptions ro;
        ro.max_pixels = ctx.opt.max_image_pixels;
        try {
            pc.images.push_back(
                decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), param, ro));
        } catch (const std::exception& e) {
            throw ApiError{400, std::string("the image could not be used: ") + e.what(), param, "invalid_image"};
        }
        std::string().swap(bytes);
    }
    if (pc.messages.back().role != "user" && pc.images.empty() == false)
        throw ApiError{400, "with images, the last message must be the user's question", "messages"};
    return pc;
}

SamplingParams parse_sampling(const json& body) {
    SamplingParams s;
    s.temperature = float(opt_number(body, "temperature", 0, 2).value_or(1.0));
    s.top_p = float(opt_number(body, "top_p", 0, 1).value_or(1.0));
    if (s.top_p <= 0) s.top_p = 1e-6f;
    s.top_k = int(opt_int(body, "top_k", 0, 1 << 20).value_or(0));
    s.presence_penalty = float(opt_number(body, "presence_penalty", -2, 2).value_or(0));
    s.frequency_penalty = float(opt_number(body, "frequency_penalty", -2, 2).value_or(0));
    auto seed = opt_int(body, "seed", INT64_MIN, INT64_MAX);
    s.seed = seed ? uint64_t(*seed) : std::random_device{}() * 0x9E3779B97F4A7C15ull + unsigned(unix_now());
    return s;
}

void check_common(const json& body) {
    if (auto n = opt_int(body, "n", 1, 128); n && *n != 1)
        throw ApiError{400, "'n' must be 1 on this server (one choice per request)", "n", "invalid_value"};
    if (auto tools = body.find("tools"); tools != body.end() && !tools->is_null() && !tools->empty())
        throw ApiError{400, "tools / function calling are not supported by this server", "tools",
                       "unsupported"};
}

std::string sse(const json& j) {
    return "data: " + to_text(j) + "\n\n";
}

json usage_of(Job& j) {
    std::lock_guard<std::mutex> lk(j.mu);
    return {{"prompt_tokens", j.prompt_tokens},
            {"completion_tokens", j.completion_tokens},
            {"total_tokens", j.prompt_tokens + j.completion_tokens}};
}

// Waits for a non-streaming job (cancelled when the client hangs up); throws ApiError for
// timeouts, shutdown and failures.
void wait_result(Job& j, const Context& ctx, const httplib::Request& req) {
    if (!ctx.wait_or_cancel(j, req))
        throw ApiError{504, "the request took longer than --request-timeout, or the client went away", "",
                       "timeout"};
    std::lock_guard<std::mutex> lk(j.mu);
    if (!j.error.empty()) throw ApiError{j.error_status, j.error};
    if (j.finish_reason == "timeout")
        throw ApiError{504,
                       "the request took longer than --request-timeout (" +
                           to_text(json(ctx.opt.request_timeout)) + " s)",
                       "", "timeout"};
    if (j.finish_reason == "cancelled")
        throw ApiError{503, "the request was cancelled (server shutting down)"};
}

// Streams a job's text as SSE chunks made by `chunk(content, reasoning, finish_reason)`.
using ChunkFn = std::function<json(const std::string*, const std::string*, const char*)>;

void stream_job(httplib::Response& res, std::shared_ptr<Job> job, bool thinking, ChunkFn chunk, json first,
                bool include_usage, std::function<json(json usage)> usage_chunk) {
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [job, thinking, chunk, first, include_usage,
                                                           usage_chunk](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& s) {
            if (!sink.write(s.data(), s.size())) {
                job->cancel = true;  // client went away: the scheduler drops the row
                return false;
            }
            return true;
        };
        if (!first.is_null() && !write(sse(first))) return false;
        ThinkSplitter split(thinking);
        auto emit = [&](const std::vector<ThinkSplitter::Segment>& segs) {
            for (auto& s : segs) {
                json c = s.thinking ? chunk(nullptr, &s.text, nullptr) : chunk(&s.text, nullptr, nullptr);
                if (!write(sse(c))) return false;
            }
            return true;
        };
        for (;;) {
            std::string t = job->wait_text(Clock::now() + std::chrono::milliseconds(500));
            bool done;
            {
                std::lock_guard<std::mutex> lk(job->mu);
                done = job->done && job->text.empty();
            }
            if (!t.empty() && !emit(split.push(t))) return false;
            if (done) break;
            if (Clock::now() > job->deadline + std::chrono::seconds(5)) {
                job->cancel = true;
                break;
            }
        }
        if (!emit(split.finish())) return false;
        std::string reason, error;
        int status = 0;
        {
            std::lock_guard<std::mutex> lk(job->mu);
            reason = job->done ? job->finish_reason : "timeout";
            error = job->error;
            status = job->error_status;
        }
        if (!error.empty() || reason == "timeout" || reason == "cancelled") {
            ApiError e{error.empty() ? (reason == "timeout" ? 504 : 503) : status,
                       !error.empty()        ? error
                       : reason == "timeout" ? "the request took longer than --request-timeout"
                                             : "the request was cancelled (server shutting down)"};
            if (!write(sse(error_body(e)))) return false;
        } else {
            if (!write(sse(chunk(nullptr, nullptr, reason.c_str())))) return false;
            if (include_usage && !write(sse(usage_chunk(usage_of(*job))))) return false;
        }
        write("data: [DONE]\n\n");
        sink.done();
        return true;
    });
}

void chat_completions(const httplib::Request& req, httplib::Response& res, Context& ctx) {
    json body = parse_body(req);
    ctx.check_model(body);
    check_common(body);
    ParsedChat pc = parse_messages(body, ctx);
    bool stream = opt_bool(body, "stream").value_or(false);
    bool include_usage = false;
    if (auto so = body.find("stream_options"); so != body.end() && so->is_object())
        include_usage = opt_bool(*so, "include_usage").value_or(false);
    SamplingParams sampling = parse_sampling(body);
    int max_tokens = ctx.max_tokens(body);
    std::vector<std::string> stops = opt_stop(body);

    std::shared_ptr<Job> job;
    bool thinking = false;
    if (!pc.images.empty()) {
        job = ctx.new_job(JobKind::vision);
        job->images = std::move(pc.images);
        job->question = pc.last_user_text;
    } else {
        job = ctx.new_job(JobKind::text);
        const Tokenizer& tok = ctx.sched->tokenizer();
        job->prompt = ctx.sched->format().encode(tok, pc.messages, true);
        if (int64_t(job->prompt.size()) >= ctx.sched->context())
            throw ApiError{400,
                           "the conversation is " + std::to_string(job->prompt.size()) +
                               " tokens but the context holds " + std::to_string(ctx.sched->context()) +
                               " (restart with a larger --ctx, or send fewer messages)",
                           "messages", "context_length_exceeded"};
        thinking = ctx.sched->starts_thinking();
    }
    job->sampling = sampling;
    job->max_tokens = max_tokens;
    job->stop_strings = stops;
    job->ignore_eos = opt_bool(body, "ignore_eos").value_or(false);
    ctx.submit(job);

    const std::string id = "chatcmpl-" + random_hex(12);
    const int64_t created = unix_now();
    const std::string model = ctx.model_id;
    if (stream) {
        auto chunk = [=](const std::string* content, const std::string* reasoning, const char* finish) {
            json delta = json::object();
            if (content) delta["content"] = *content;
            if (reasoning) delta["reasoning_content"] = *reasoning;
            return json{
                {"id", id},
                {"object", "chat.completion.chunk"},
                {"created", created},
                {"model", model},
                {"choices", json::array({{{"index", 0},
                                          {"delta", delta},
                                          {"logprobs", nullptr},
                                          {"finish_reason", finish ? json(finish) : json(nullptr)}}})}};
        };
        json first = chunk(nullptr, nullptr, nullptr);
        first["choices"][0]["delta"] = {{"role", "assistant"}, {"content", ""}};
        auto usage_chunk = [=](json usage) {
            return json{{"id", id},       {"object", "chat.completion.chunk"}, {"created", created},
                        {"model", model}, {"choices", json::array()},          {"usage", usage}};
        };
        stream_job(res, job, thinking, chunk, first, include_usage, usage_chunk);
        return;
    }
    wait_result(*job, ctx, req);
    std::string text;
    {
        std::lock_guard<std::mutex> lk(job->mu);
        text = job->text;
    }
    std::string content, reasoning;
    ThinkSplitter split(thinking);
    auto segs = split.push(text);
    for (auto& s : split.finish()) segs.push_back(s);
    for (auto& s : segs) (s.thinking ? reasoning : content) += s.text;
    json message = {{"role", "assistant"}, {"content", content}};
    if (!reasoning.empty()) message["reasoning_content"] = reasoning;
    json out = {{"id", id},
                {"object", "chat.completion"},
                {"created", created},
                {"model", model},
                {"choices", json::array({{{"index", 0},
                                          {"message", message},
                                          {"logprobs", nullptr},
                                          {"finish_reason", job->finish_reason}}})},
                {"usage", usage_of(*job)}};
    res.set_content(to_text(out), "application/json");
}

void completions(const httplib::Request& req, httplib::Response& res, Context& ctx) {
    json body = parse_body(req);
    ctx.check_model(body);
    check_common(body);
    std::string prompt;
    auto p = body.find("prompt");
    if (p != body.end() && p->is_string())
        prompt = p->get<std::string>();
    else if (p != body.end() && p->is_array() && p->size() == 1 && (*p)[0].is_string())
        prompt = (*p)[0];
    else
        throw ApiError{400, "'prompt' must be a string (or an array holding one string)", "prompt",
                       "invalid_type"};
    if (prompt.empty()) throw ApiError{400, "'prompt' is empty", "prompt", "invalid_value"};
    if (opt_bool(body, "echo").value_or(false))
        throw ApiError{400, "'echo' is not supported by this server", "echo", "unsupported"};
    bool stream = opt_bool(body, "stream").value_or(false);
    auto job = ctx.new_job(JobKind::text);
    job->prompt = ctx.sched->tokenizer().encode(prompt, true);
    if (int64_t(job->prompt.size()) >= ctx.sched->context())
        throw ApiError{400,
                       "the prompt is longer than the context (" + std::to_string(ctx.sched->context()) + ")",
                       "prompt", "context_length_exceeded"};
    job->sampling = parse_sampling(body);
    job->max_tokens = ctx.max_tokens(body);
    job->stop_strings = opt_stop(body);
    job->ignore_eos = opt_bool(body, "ignore_eos").value_or(false);
    ctx.submit(job);

    const std::string id = "cmpl-" + random_hex(12);
    const int64_t created = unix_now();
    const std::string model = ctx.model_id;
    auto make = [=](const std::string& text, json finish) {
        return json{
            {"id", id},
            {"object", "text_completion"},
            {"created", created},
            {"model", model},
            {"choices",
             json::array(
                 {{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", finish}}})}};
    };
    if (stream) {
        auto chunk = [=](const std::string* content, const std::string*, const char* finish) {
            return make(content ? *content : "", finish ? json(finish) : json(nullptr));
        };
        auto usage_chunk = [=](json usage) {
            return json{{"id", id}, {"object", "text_completion"}, {"usage", usage}};
        };
        stream_job(res, job, false, chunk, nullptr, false, usage_chunk);
        return;
    }
    wait_result(*job, ctx, req);
    json out = make(job->text, job->finish_reason);
    out["usage"] = usage_of(*job);
    res.set_content(to_text(out), "application/json");
}

}  // namespace

void register_chat_routes(httplib::Server& svr, Context& ctx) {
    auto wrap = [&ctx](void (*fn)(const httplib::Request&, httplib::Response&, Context&)) {
        return [&ctx, fn](const httplib::Request& req, httplib::Response& res) {
            try {
                fn(req, res, ctx);
            } catch (const ApiError& e) {
                send_error(res, e);
            } catch (const std::exception& e) {
                send_error(res, ApiError{500, std::string("internal error: ") + e.what()});
            }
        };
    };
    svr.Post("/v1/chat/completions", wrap(chat_completions));
    svr.Post("/v1/completions", wrap(completions));
}

}  // namespace janus::serve
