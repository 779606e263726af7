// Helpers shared by the `janus serve` routes: OpenAI error objects, typed JSON field access that
// reports the offending parameter, base64, data: URLs, and the route context (server state a route
// handler needs). No model code here.
#pragma once
#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "janus/server.h"
#include "pipelines/serve_scheduler.h"

namespace janus::serve {

// An error answered as {"error": {"message", "type", "param", "code"}} with HTTP `status`.
struct ApiError {
    ApiError(int status_, std::string message_, std::string param_ = "", std::string code_ = "")
        : status(status_), message(std::move(message_)), param(std::move(param_)), code(std::move(code_)) {}
    int status = 400;
    std::string message;
    std::string param;         // "" = null
    std::string code;          // "" = null
    std::string type() const;  // invalid_request_error | authentication_error | ...
};

// JSON text for a response; invalid UTF-8 (never expected) becomes U+FFFD instead of throwing.
inline std::string to_text(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json error_body(const ApiError& e);
void send_error(httplib::Response& res, const ApiError& e);

// Parses the request body as a JSON object; malformed JSON or another type → 400.
nlohmann::json parse_body(const httplib::Request& req);

// Typed optional fields: absent or null → nullopt; wrong type/range → ApiError naming `key`.
std::optional<std::string> opt_string(const nlohmann::json& o, const char* key);
std::optional<double> opt_number(const nlohmann::json& o, const char* key, double lo, double hi);
std::optional<int64_t> opt_int(const nlohmann::json& o, const char* key, int64_t lo, int64_t hi);
std::optional<bool> opt_bool(const nlohmann::json& o, const char* key);
// "stop": a string or an array of up to 4 strings.
std::vector<std::string> opt_stop(const nlohmann::json& o);

std::string base64_encode(const std::string& bytes);
// Strict base64 (standard alphabet, padding optional, whitespace skipped); nullopt when invalid.
std::optional<std::string> base64_decode(const std::string& text);

// "data:image/png;base64,...." → decoded bytes; http(s) URLs and anything else → ApiError (400).
std::string decode_data_url(const std::string& url, const std::string& param);

// What every route handler can reach.
struct Context {
    ServerOptions opt;
    std::string model_id;
    Scheduler* sched = nullptr;
    std::string output_dir;
    std::atomic<bool>* draining = nullptr;
    std::atomic<uint64_t>* next_id = nullptr;
    int64_t created = 0;  // server start (unix seconds)
    std::string url_secret;  // HMAC key of the signed image URLs (random per server start)

    // The request's "model" must be absent or name this model (or its directory); else 404.
    void check_model(const nlohmann::json& body) const;
    // New job with id, deadline = now + request_timeout.
    std::shared_ptr<Job> new_job(JobKind kind) const;
    // Clamped max_tokens from "max_tokens" / "max_completion_tokens".
    int max_tokens(const nlohmann::json& body) const;
    // Queues the job or throws ApiError 429 (busy) / 503 (shutting down).
    void submit(const std::shared_ptr<Job>& job) const;
    // Non-streaming wait: until the job is done (true), its deadline (+5 s grace) passes (false,
    // job cancelled) or the client closes the connection (false, job cancelled).
    bool wait_or_cancel(Job& job, const httplib::Request& req) const;
    // The url of a generated image: --public-url (else http://<host>:<port>) + the file route +
    // "?expires=<unix s>&sig=<HMAC-SHA256 of name and expiry>", valid for --image-url-ttl seconds.
    std::string image_url(const std::string& name) const;
    // "" when `sig` is a valid, unexpired signature of `name`; else why not.
    std::string check_image_signature(const std::string& name, const std::string& expires,
                                      const std::string& sig) const;
};

// The text with control characters (< 0x20, 0x7f) and backslashes written as \xNN / \\, so a
// request path cannot forge log lines or send terminal escapes.
std::string escape_log(const std::string& s);

// The method a route path accepts ("GET" or "POST"), "" for an unknown path (→ 404 vs 405).
std::string allowed_method(const std::string& path);

std::string random_hex(int bytes);
int64_t unix_now();

void register_chat_routes(httplib::Server& svr, Context& ctx);   // /v1/chat/completions, /v1/completions
void register_image_routes(httplib::Server& svr, Context& ctx);  // /v1/images/*
void register_misc_routes(httplib::Server& svr, Context& ctx);   // /health, /v1/models, /tokenize, ...

}  // namespace janus::serve
