// `janus serve` helpers (pipelines/serve_util.h): OpenAI error objects, typed field access, base64,
// data: URLs and the shared route context.
#include "pipelines/serve_util.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <regex>

#include "pipelines/serve_conn.h"
#include "pipelines/serve_sign.h"

namespace janus::serve {

using nlohmann::json;

std::string ApiError::type() const {
    switch (status) {
        case 401:
            return "authentication_error";
        case 403:
            return "permission_error";
        case 404:
            return "not_found_error";
        case 413:
            return "request_too_large";
        case 429:
            return "rate_limit_error";
        case 503:
            return "service_unavailable";
        case 504:
            return "timeout_error";
        default:
            return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

json error_body(const ApiError& e) {
    json err = {{"message", e.message}, {"type", e.type()}, {"param", nullptr}, {"code", nullptr}};
    if (!e.param.empty()) err["param"] = e.param;
    if (!e.code.empty()) err["code"] = e.code;
    return json{{"error", err}};
}

void send_error(httplib::Response& res, const ApiError& e) {
    res.status = e.status;
    res.set_content(to_text(error_body(e)), "application/json");
}

json parse_body(const httplib::Request& req) {
    json j;
    try {
        j = json::parse(req.body);
    } catch (const std::exception& e) {
        throw ApiError{400, std::string("the request body is not valid JSON: ") + e.what(), "",
                       "invalid_json"};
    }
    if (!j.is_object()) throw ApiError{400, "the request body must be a JSON object", "", "invalid_json"};
    return j;
}

static const json* field(const json& o, const char* key) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return nullptr;
    return &*it;
}

std::optional<std::string> opt_string(const json& o, const char* key) {
    const json* v = field(o, key);
    if (!v) return std::nullopt;
    if (!v->is_string())
        throw ApiError{400, std::string("'") + key + "' must be a string", key, "invalid_type"};
    return v->get<std::string>();
}

std::optional<double> opt_number(const json& o, const char* key, double lo, double hi) {
    const json* v = field(o, key);
    if (!v) return std::nullopt;
    if (!v->is_number())
        throw ApiError{400, std::string("'") + key + "' must be a number", key, "invalid_type"};
    double d = v->get<double>();
    if (!std::isfinite(d) || d < lo || d > hi)
        throw ApiError{400,
                       std::string("'") + key + "' must be between " + to_text(json(lo)) + " and " +
                           to_text(json(hi)) + ", got " + v->dump(),
                       key, "invalid_value"};
    return d;
}

std::optional<int64_t> opt_int(const json& o, const char* key, int64_t lo, int64_t hi) {
    const json* v = field(o, key);
    if (!v) return std::nullopt;
    bool integral = v->is_number_integer() || v->is_number_unsigned() ||
                    (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
                     std::fabs(v->get<double>()) < 9e15);
    if (!integral) throw ApiError{400, std::string("'") + key + "' must be an integer", key, "invalid_type"};
    if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX))
        throw ApiError{400, std::string("'") + key + "' is out of range", key, "invalid_value"};
    int64_t i = v->is_number_float() ? int64_t(v->get<double>()) : v->get<int64_t>();
    if (i < lo || i > hi)
        throw ApiError{400,
                       std::string("'") + key + "' must be between " + std::to_string(lo) + " and " +
                           std::to_string(hi) + ", got " + std::to_string(i),
                       key, "invalid_value"};
    return i;
}

std::optional<bool> opt_bool(const json& o, const char* key) {
    const json* v = field(o, key);
    if (!v) return std::nullopt;
    if (!v->is_boolean())
        throw ApiError{400, std::string("'") + key + "' must be true or false", key, "invalid_type"};
    return v->get<bool>();
}

std::vector<std::string> opt_stop(const json& o) {
    const json* v = field(o, "stop");
    if (!v) return {};
    if (v->is_string()) return {v->get<std::string>()};
    if (!v->is_array() || v->size() > 4)
        throw ApiError{400, "'stop' must be a string or an array of at most 4 strings", "stop",
                       "invalid_type"};
    std::vector<std::string> out;
    for (auto& s : *v) {
        if (!s.is_string()) throw ApiError{400, "'stop' entries must be strings", "stop", "invalid_type"};
        if (!s.get<std::string>().empty()) out.push_back(s.get<std::string>());
    }
    return out;
}

static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const std::string& in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
        out += kB64[v >> 18];
        out += kB64[(v >> 12) & 63];
        out += kB64[(v >> 6) & 63];
        out += kB64[v & 63];
    }
    if (i + 1 == in.size()) {
        uint32_t v = uint32_t(uint8_t(in[i])) << 16;
        out += kB64[v >> 18];
        out += kB64[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8;
        out += kB64[v >> 18];
        out += kB64[(v >> 12) & 63];
        out += kB64[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(const std::string& text) {
    int8_t map[256];
    std::fill(std::begin(map), std::end(map), int8_t(-1));
    for (int i = 0; i < 64; ++i) map[uint8_t(kB64[i])] = int8_t(i);
    std::string out;
    out.reserve(text.size() / 4 * 3);
    uint32_t acc = 0;
    int bits = 0, count = 0, pad = 0;
    for (char ch : text) {
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
        if (ch == '=') {
            pad++;
            continue;
        }
        if (pad) return std::nullopt;  // data after padding
        int8_t v = map[uint8_t(ch)];
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | uint32_t(v);
        bits += 6;
        count++;
        if (bits >= 8) {
            bits -= 8;
            out += char((acc >> bits) & 0xFF);
        }
    }
    if (count % 4 == 1 || pad > 2 || (pad && (count + pad) % 4 != 0)) return std::nullopt;
    return out;
}

std::string decode_data_url(const std::string& url, const std::string& param) {
    if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0)
        throw ApiError{
            400,
            "remote image URLs are not fetched by this server; send the image inline as a data URL "
            "(data:image/png;base64,... or data:image/jpeg;base64,...)",
            param, "remote_url_not_supported"};
    if (url.rfind("data:", 0) != 0)
        throw ApiError{400, "image_url must be a data URL (data:image/png;base64,...)", param,
                       "invalid_image_url"};
    size_t comma = url.find(',');
    if (comma == std::string::npos)
        throw ApiError{400, "data URL without ',': expected data:image/png;base64,<data>", param,
                       "invalid_image_url"};
    std::string meta = url.substr(5, comma - 5);
    if (meta.size() < 7 || meta.compare(meta.size() - 7, 7, ";base64") != 0)
        throw ApiError{400, "data URL must be base64-encoded (data:image/...;base64,<data>)", param,
                       "invalid_image_url"};
    auto bytes = base64_decode(url.substr(comma + 1));
    if (!bytes || bytes->empty())
        throw ApiError{400, "the data URL's base64 payload is invalid", param, "invalid_base64"};
    return *bytes;
}

void Context::check_model(const json& body) const {
    auto m = opt_string(body, "model");
    if (!m || m->empty() || *m == model_id) return;
    std::string dir_name = std::filesystem::path(opt.model).filename().string();
    if (*m == dir_name || *m == opt.model) return;
    throw ApiError{
        404, "The model '" + *m + "' does not exist; this server serves '" + model_id + "' (GET /v1/models)",
        "model", "model_not_found"};
}

std::shared_ptr<Job> Context::new_job(JobKind kind) const {
    auto j = std::make_shared<Job>();
    j->kind = kind;
    j->id = (*next_id)++;
    j->deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(int64_t(std::max(0.001, opt.request_timeout) * 1000));
    return j;
}

int Context::max_tokens(const json& body) const {
    auto a = opt_int(body, "max_tokens", 1, INT32_MAX);
    auto b = opt_int(body, "max_completion_tokens", 1, INT32_MAX);
    int64_t v = a ? *a : b ? *b : opt.default_max_tokens;
    return int(std::min<int64_t>(v, opt.max_tokens));
}

void Context::submit(const std::shared_ptr<Job>& job) const {
    if (draining->load()) throw ApiError{503, "the server is shutting down", "", "shutting_down"};
    if (!sched->submit(job))
        throw ApiError{429,
                       "the server is busy (" + std::to_string(opt.max_concurrent) + " running and " +
                           std::to_string(opt.max_queue) + " queued requests); retry later",
                       "", "server_busy"};
}

bool Context::wait_or_cancel(Job& job, const httplib::Request&) const {
    const auto until = job.deadline + std::chrono::seconds(5);
    for (;;) {
        auto next = std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
        if (job.wait_done(next)) return true;
        if (std::chrono::steady_clock::now() >= until || current_client_gone()) {
            job.cancel = true;
            return false;
        }
    }
}

std::string Context::image_url(const std::string& name) const {
    std::string base = opt.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (base.empty()) {
        std::string h = opt.host == "0.0.0.0" ? "127.0.0.1" : opt.host == "::" ? "::1" : opt.host;
        if (h.find(':') != std::string::npos) h = "[" + h + "]";
        base = "http://" + h + ":" + std::to_string(opt.port);
    }
    const std::string expires = std::to_string(unix_now() + int64_t(std::ceil(opt.image_url_ttl)));
    return base + "/v1/images/files/" + name + "?expires=" + expires +
           "&sig=" + hmac_sha256_hex(url_secret, name + "\n" + expires);
}

std::string Context::check_image_signature(const std::string& name, const std::string& expires,
                                           const std::string& sig) const {
    if (sig.empty() || expires.empty())
        return "this image url needs its ?expires=...&sig=... (as returned by /v1/images/generations)" +
               std::string(opt.api_key.empty() ? "" : " or the API key");
    if (expires.size() > 18 || expires.find_first_not_of("0123456789") != std::string::npos ||
        !equal_constant_time(hmac_sha256_hex(url_secret, name + "\n" + expires), sig))
        return "the image url's signature is not valid; use the url exactly as returned";
    if (std::stoll(expires) < unix_now())
        return "the image url has expired (--image-url-ttl); generate the image again";
    return "";
}

std::string escape_log(const std::string& s) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    for (unsigned char ch : s) {
        if (ch < 0x20 || ch == 0x7f || ch == '\\') {
            out += "\\x";
            out += hex[ch >> 4];
            out += hex[ch & 15];
        } else {
            out += char(ch);
        }
    }
    return out;
}

std::string allowed_method(const std::string& path) {
    static const std::regex get_routes(R"(/health|/v1/models|/v1/models/.+|/v1/images/files/.*)");
    static const std::regex post_routes(
        R"(/v1/chat/completions|/v1/completions|/v1/images/generations|/tokenize|/detokenize)");
    if (std::regex_match(path, get_routes)) return "GET";
    if (std::regex_match(path, post_routes)) return "POST";
    return "";
}

std::string random_hex(int bytes) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < bytes; ++i) {
        unsigned v = unsigned(rng() & 0xFF);
        s += hex[v >> 4];
        s += hex[v & 15];
    }
    return s;
}

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace janus::serve
