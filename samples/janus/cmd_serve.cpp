// `janus serve -m MODEL [--host H] [--port P] [--api-key K] ...`: the OpenAI-compatible HTTP server
// (docs/server.md). Flags map one-to-one onto janus::ServerOptions (include/janus/server.h); the
// server itself lives in the library.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "command.h"
#include "janus/default_model.h"
#include "janus/error.h"
#include "janus/generate.h"
#include "janus/server.h"

namespace {

struct Options {
    janus::ServerOptions s;
    std::string max_body = "32M";
    std::string max_request_pixels = "32M";
    std::string api_key_file;
    bool quiet_requests = false;
};

// The API key from --api-key, --api-key-file (first line, surrounding whitespace dropped) or the
// JANUS_API_KEY environment variable, in that order; the last two keep it out of the process list.
std::string api_key_of(const Options& opt) {
    if (!opt.s.api_key.empty()) {
        if (!opt.api_key_file.empty())
            throw janus::Error("janus serve: give --api-key or --api-key-file, not both");
        return opt.s.api_key;
    }
    if (!opt.api_key_file.empty()) {
        std::ifstream f(opt.api_key_file);
        if (!f) throw janus::Error("--api-key-file " + opt.api_key_file + ": cannot read it (does it exist?)");
        std::string line;
        std::getline(f, line);
        const size_t a = line.find_first_not_of(" \t\r"), b = line.find_last_not_of(" \t\r");
        if (a == std::string::npos)
            throw janus::Error("--api-key-file " + opt.api_key_file + ": the first line is empty; put the key there");
        return line.substr(a, b - a + 1);
    }
    const char* env = std::getenv("JANUS_API_KEY");
    return env ? std::string(env) : std::string();
}

int run(Options& opt) {
    const auto& g = janus_cli::global_options();
    opt.s.model = janus::resolve_model_dir(opt.s.model);  // no -m: janus-shapes
    opt.s.threads = g.threads;
    opt.s.device = g.device;
    opt.s.max_body_bytes = janus::parse_size(opt.max_body, "--max-body");
    opt.s.max_request_pixels = janus::parse_size(opt.max_request_pixels, "--max-request-pixels");
    opt.s.api_key = api_key_of(opt);
    if (!opt.quiet_requests && !g.quiet) opt.s.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    return janus::serve_until_signal(opt.s);
}

const bool registered = janus_cli::register_command(
    "serve", "OpenAI-compatible HTTP server: chat, vision, image generation", [](CLI::App& app) {
        auto opt = std::make_shared<Options>();
        auto& s = opt->s;
        app.add_option("-m,--model", s.model, "Model directory (Janus-Pro, or a Llama/Qwen2 text model; default: janus-shapes)");
        app.add_option("--model-id", s.model_id, "Name in /v1/models (default: the directory name)");
        app.add_option("--host", s.host, "Address to bind (0.0.0.0 = all interfaces; use with --api-key)")
            ->capture_default_str();
        app.add_option("--port", s.port, "TCP port (0 = any free port)")->capture_default_str();
        app.add_option("--api-key", s.api_key,
                       "Require 'Authorization: Bearer KEY' on every route (visible in the process list: "
                       "prefer --api-key-file or JANUS_API_KEY)");
        app.add_option("--api-key-file", opt->api_key_file, "Read the API key from the first line of this file");
        app.add_option("--public-url", s.public_url,
                       "Base URL clients reach the server under, for image urls (default http://HOST:PORT)");
        app.add_option("--image-url-ttl", s.image_url_ttl, "Seconds a signed image url stays valid")
            ->capture_default_str();
        app.add_option("--output-dir", s.output_dir,
                       "Where images for response_format=url are kept (default: $TMPDIR/janus-serve-<pid>)");
        app.add_option("--dtype", s.dtype, "LM compute precision: auto | f32 | bf16")->capture_default_str();
        app.add_option("--chat-format", s.chat_format, "Chat template (default: detect from the checkpoint)");
        app.add_option("--ctx", s.ctx, "Context tokens per chat row")->capture_default_str();
        app.add_option("--max-concurrent", s.max_concurrent, "Requests running at once")->capture_default_str();
        app.add_option("--max-queue", s.max_queue, "Requests waiting beyond --max-concurrent (more get 429)")
            ->capture_default_str();
        app.add_option("--max-body", opt->max_body, "Largest request body (413 beyond), e.g. 32M")
            ->capture_default_str();
        app.add_option("--max-image-pixels", s.max_image_pixels, "Largest input image (width*height)")
            ->capture_default_str();
        app.add_option("--max-tokens", s.max_tokens, "Cap on max_tokens per request (larger values are clamped)")
            ->capture_default_str();
        app.add_option("--default-max-tokens", s.default_max_tokens, "max_tokens when a request gives none")
            ->capture_default_str();
        app.add_option("--max-images-per-request", s.max_images_per_request, "Largest n of /v1/images/generations")
            ->capture_default_str();
        app.add_option("--max-images-in-flight", s.max_images_in_flight, "Images in flight at once (2 KV slots each)")
            ->capture_default_str();
        app.add_option("--request-timeout", s.request_timeout, "Seconds before a request is cancelled (504)")
            ->capture_default_str();
        app.add_option("--shutdown-timeout", s.shutdown_timeout,
                       "Seconds in-flight work may finish after SIGTERM/SIGINT before it is cancelled")
            ->capture_default_str();
        app.add_option("--http-threads", s.http_threads, "HTTP worker threads (0 = concurrent + queue + 8)")
            ->capture_default_str();
        app.add_option("--max-connections", s.max_connections, "Open connections at once (more get 503)")
            ->capture_default_str();
        app.add_option("--receive-timeout", s.receive_timeout,
                       "Seconds to receive a whole request, headers and body (408 beyond)")
            ->capture_default_str();
        app.add_option("--idle-timeout", s.idle_timeout, "Seconds a keep-alive connection may wait idle")
            ->capture_default_str();
        app.add_option("--write-timeout", s.write_timeout,
                       "Seconds to write one response body or streamed event before a slow client is dropped")
            ->capture_default_str();
        app.add_option("--max-input-images", s.max_input_images, "Images in one chat request")
            ->capture_default_str();
        app.add_option("--max-request-pixels", opt->max_request_pixels,
                       "Pixels of all images in one request together, from their headers, e.g. 32M")
            ->capture_default_str();
        app.add_flag("--no-request-log", opt->quiet_requests, "Do not log one line per request");
        return [opt] { return run(*opt); };
    });

}  // namespace
