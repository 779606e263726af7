// janus.cpp public API — `janus serve`: an OpenAI-compatible HTTP server for chat, vision and image
// generation (docs/server.md).
//
//   janus::ServerOptions o;  o.model = "models/Janus-Pro-1B";  o.port = 8080;
//   auto s = janus::Server::create(o);   // opens the model (chat, understanding, image engines)
//   int port = s->start();               // binds and serves on background threads
//   ...;  s->shutdown();                 // stop accepting, finish/cancel in-flight work, join
//
// Routes: GET /health, GET /v1/models, POST /v1/chat/completions (text + image_url data: URLs,
// stream as SSE), POST /v1/completions, POST /v1/images/generations (b64_json | url), GET
// /v1/images/files/<name>.png (the url output), POST /tokenize, POST /detokenize.
// One scheduler thread owns the model (one copy of the LM for chat, vision and image generation) and
// runs ONE forward per step over every row in flight — text rows, vision rows (images spliced into
// the prompt embeddings) and image-generation rows (2 CFG rows per image) together (continuous
// batching across request kinds); a finished or cancelled request leaves at the next step.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace janus {

struct ServerOptions {
    std::string model;     // checkpoint directory
    std::string model_id;  // name in /v1/models ("" = the directory's name)
    std::string device = "auto";
    int threads = 0;             // CPU threads (0 = physical cores)
    std::string dtype = "auto";  // LM compute precision: auto | f32 | bf16
    std::string chat_format;     // "" = detect

    std::string host = "127.0.0.1";
    int port = 8080;         // 0 = any free port (start() returns it)
    std::string api_key;     // when set: "Authorization: Bearer KEY" on every route
    std::string output_dir;  // images for response_format "url" ("" = a temp dir)

    int max_concurrent = 8;               // requests running at once (chat/vision rows + image requests)
    int max_queue = 32;                   // requests waiting beyond that; more → 429
    int64_t max_body_bytes = 32 << 20;    // request body limit → 413
    int64_t max_image_pixels = 16 << 20;  // per input image (decoded width·height) → 400
    int max_tokens = 2048;                // cap on max_tokens per request (larger values are clamped)
    int default_max_tokens = 512;         // when a request gives no max_tokens
    int max_images_per_request = 4;       // n of /v1/images/generations
    int max_images_in_flight = 4;         // images in flight at once (2 KV slots each)
    int64_t ctx = 4096;                   // context per chat row (KV positions)
    double request_timeout = 600;         // seconds from arrival; then cancelled (504 / error event)
    double shutdown_timeout = 30;         // seconds to finish in-flight work on shutdown, then cancel
    int http_threads = 0;                 // 0 = max_concurrent + max_queue + 8

    // Hostile-client limits (docs/server.md "Limits").
    int max_connections = 256;            // open connections; more get 503 and are closed
    double receive_timeout = 30;          // seconds from a request's first byte to its last → 408
    double idle_timeout = 5;              // seconds a keep-alive connection may sit idle
    double write_timeout = 30;            // seconds to write one response body / streamed event
    int max_input_images = 8;             // images in one chat request → 400
    int64_t max_request_pixels = 32 << 20;  // sum of width·height of a request's images (from headers) → 400
    std::string public_url;               // base of image URLs ("" = http://<host>:<port>); never the Host header
    double image_url_ttl = 3600;          // seconds a signed image URL stays valid

    std::function<void(const std::string&)> log;  // one line per request / event (optional)
};

class Server {
public:
    // Opens the model and its engines; throws janus::Error naming the problem.
    static std::unique_ptr<Server> create(const ServerOptions& options);
    ~Server();

    // Binds host:port and starts serving on background threads; returns the bound port. Throws
    // janus::Error when the address cannot be bound.
    int start();
    // Graceful stop: new requests get 503, in-flight work may finish for options.shutdown_timeout
    // seconds, then it is cancelled; returns when every thread has ended. Idempotent.
    void shutdown();
    const ServerOptions& options() const;
    std::string model_id() const;

    struct Impl;

private:
    explicit Server(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// `janus serve`: create + start, print the address, wait for SIGINT/SIGTERM, then shutdown().
// Returns the process exit code.
int serve_until_signal(const ServerOptions& options);

}  // namespace janus
