// janus::Server (include/janus/server.h): the scheduler behind our connection layer (serve_conn.h)
// and httplib's routing — option checks, the route tables (serve_chat.cpp, serve_images.cpp,
// serve_misc.cpp), API-key check on every route (signed image urls excepted), OpenAI-format bodies
// for errors httplib raises itself (404, 405, 413, ...), escaped request logs, memory handed back
// after large requests, graceful shutdown bounded by --shutdown-timeout, and serve_until_signal()
// for the CLI (SIGINT/SIGTERM via sigwait on the main thread).
#include "janus/server.h"

#include <httplib.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "janus/error.h"
#include "pipelines/serve_conn.h"
#include "pipelines/serve_scheduler.h"
#include "pipelines/serve_sign.h"
#include "pipelines/serve_util.h"

namespace janus {

using serve::ApiError;

struct Server::Impl {
    ServerOptions opt;
    std::unique_ptr<Scheduler> sched;
    serve::HttpCore svr;
    std::unique_ptr<serve::HttpFront> front;  // after svr: destroyed first
    serve::Context ctx;
    std::atomic<bool> draining{false};
    std::atomic<uint64_t> next_id{1};
    int port = -1;
    bool shut = false;
    std::mutex shut_mu;

    void log(const std::string& s) const {
        if (opt.log) opt.log(serve::escape_log(s));
    }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() {
    shutdown();
}

static void check_options(const ServerOptions& o) {
    auto need = [](bool ok, const std::string& what) {
        if (!ok) throw Error("janus serve: " + what);
    };
    need(!o.model.empty(), "--model is required (a Janus / Llama-family checkpoint directory)");
    need(o.max_concurrent >= 1, "--max-concurrent must be >= 1");
    need(o.max_queue >= 0, "--max-queue must be >= 0");
    need(o.max_body_bytes >= 1024, "--max-body must be at least 1K");
    need(o.max_image_pixels >= 1, "--max-image-pixels must be >= 1");
    need(o.max_tokens >= 1, "--max-tokens must be >= 1");
    need(o.default_max_tokens >= 1, "--default-max-tokens must be >= 1");
    need(o.max_images_per_request >= 1, "--max-images-per-request must be >= 1");
    need(o.max_images_in_flight >= 1, "--max-images-in-flight must be >= 1");
    need(o.request_timeout > 0, "--request-timeout must be > 0 seconds");
    need(o.shutdown_timeout >= 0, "--shutdown-timeout must be >= 0 seconds");
    need(o.port >= 0 && o.port <= 65535, "--port must be in 0..65535");
    need(o.max_connections >= 1, "--max-connections must be >= 1");
    need(o.receive_timeout > 0, "--receive-timeout must be > 0 seconds");
    need(o.idle_timeout > 0, "--idle-timeout must be > 0 seconds");
    need(o.write_timeout > 0, "--write-timeout must be > 0 seconds");
    need(o.max_input_images >= 0, "--max-input-images must be >= 0");
    need(o.max_request_pixels >= 1, "--max-request-pixels must be >= 1");
    need(o.image_url_ttl > 0, "--image-url-ttl must be > 0 seconds");
    need(o.public_url.empty() || o.public_url.rfind("http://", 0) == 0 || o.public_url.rfind("https://", 0) == 0,
         "--public-url must start with http:// or https:// (the base clients reach this server under)");
}

std::unique_ptr<Server> Server::create(const ServerOptions& options) {
    check_options(options);
    auto im = std::make_unique<Impl>();
    im->opt = options;
    im->sched = std::make_unique<Scheduler>(options);
    std::string out = options.output_dir;
    if (out.empty())
        out = (std::filesystem::temp_directory_path() / ("janus-serve-" + std::to_string(getpid()))).string();
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) throw Error("--output-dir " + out + ": cannot create it (" + ec.message() + ")");
    serve::Context& c = im->ctx;
    c.opt = options;
    c.model_id = options.model_id.empty()
                     ? std::filesystem::path(options.model).lexically_normal().filename().string()
                     : options.model_id;
    if (c.model_id.empty())
        c.model_id = std::filesystem::path(options.model).parent_path().filename().string();
    c.sched = im->sched.get();
    c.output_dir = out;
    c.draining = &im->draining;
    c.next_id = &im->next_id;
    c.created = serve::unix_now();
    c.url_secret = serve::random_secret(32);
    return std::unique_ptr<Server>(new Server(std::move(im)));
}

const ServerOptions& Server::options() const {
    return impl_->opt;
}
std::string Server::model_id() const {
    return impl_->ctx.model_id;
}

int Server::start() {
    Impl& im = *impl_;
    if (im.port >= 0) return im.port;
    serve::HttpCore& svr = im.svr;
    svr.set_payload_max_length(size_t(im.opt.max_body_bytes));
    svr.set_keep_alive_timeout(std::max<time_t>(1, time_t(im.opt.idle_timeout)));  // the Keep-Alive header
    // Big buffers (request bodies, decoded images) come from mmap and go back to the system when
    // freed, instead of raising glibc's dynamic threshold and staying in the heap (issue 26).
    mallopt(M_MMAP_THRESHOLD, 1 << 20);

    const std::string key = im.opt.api_key;
    svr.set_pre_routing_handler([key, &im](const httplib::Request& req, httplib::Response& res) {
        // A signed image url is checked by its route instead (a browser's <img> sends no header).
        const bool signed_file = req.method == "GET" && req.path.rfind("/v1/images/files/", 0) == 0 &&
                                 req.has_param("sig");
        if (!key.empty() && !signed_file && req.get_header_value("Authorization") != "Bearer " + key) {
            serve::send_error(res, ApiError{401,
                                            req.has_header("Authorization")
                                                ? "Incorrect API key provided"
                                                : "Missing API key: send \"Authorization: Bearer <key>\"",
                                            "", "invalid_api_key"});
            res.set_header("WWW-Authenticate", "Bearer");
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    svr.set_error_handler(
        httplib::Server::HandlerWithResponse([&im](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            if (res.status == 404) {
                const std::string allow = serve::allowed_method(req.path);
                if (!allow.empty() && allow != req.method) {
                    res.status = 405;
                    res.set_header("Allow", allow == "GET" ? "GET, HEAD" : allow);
                    serve::send_error(res, ApiError{405,
                                                    req.method + " is not allowed on " + req.path + "; use " +
                                                        allow,
                                                    "", "method_not_allowed"});
                    return httplib::Server::HandlerResponse::Handled;
                }
            }
            std::string msg = res.status == 404   ? "unknown route " + req.method + " " + req.path
                              : res.status == 413 ? "request body larger than --max-body (" +
                                                        std::to_string(im.opt.max_body_bytes) + " bytes)"
                              : res.status == 405 ? "method not allowed"
                                                  : "bad request";
            serve::send_error(res, ApiError{res.status, msg});
            return httplib::Server::HandlerResponse::Handled;
        }));
    svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        serve::send_error(res, ApiError{500, "internal error: " + what});
    });
    if (im.opt.log)
        svr.set_logger([&im](const httplib::Request& req, const httplib::Response& res) {
            im.log(req.method + " " + req.path + " " + std::to_string(res.status));  // escaped by log()
        });
    serve::register_misc_routes(svr, im.ctx);
    serve::register_chat_routes(svr, im.ctx);
    serve::register_image_routes(svr, im.ctx);

    serve::FrontOptions fo;
    fo.workers = im.opt.http_threads > 0 ? im.opt.http_threads : im.opt.max_concurrent + im.opt.max_queue + 8;
    fo.max_connections = im.opt.max_connections;
    fo.max_body = im.opt.max_body_bytes;
    fo.receive_timeout = im.opt.receive_timeout;
    fo.idle_timeout = im.opt.idle_timeout;
    fo.write_timeout = im.opt.write_timeout;
    fo.keep_alive_max = 1000;
    if (im.opt.log) fo.log = [&im](const std::string& line) { im.log(line); };
    fo.error_json = [](int status, const std::string& message) {
        return serve::to_text(serve::error_body(ApiError{status, message}));
    };
    fo.after_request = [](bool large) {
        if (large) malloc_trim(0);  // hand the freed heap back to the system after a large request
    };
    im.front = std::make_unique<serve::HttpFront>(svr, fo);
    im.port = im.front->bind(im.opt.host, im.opt.port);
    im.ctx.opt.port = im.port;
    if (im.opt.api_key.empty() && im.opt.host != "127.0.0.1" && im.opt.host != "localhost" &&
        im.opt.host != "::1")
        im.log("warning: listening on " + im.opt.host +
               " without --api-key: anyone who can reach this port can use the model");
    im.front->start();
    return im.port;
}

void Server::shutdown() {
    Impl& im = *impl_;
    std::lock_guard<std::mutex> lk(im.shut_mu);
    if (im.shut) return;
    im.shut = true;
    im.draining = true;
    const auto t0 = std::chrono::steady_clock::now();
    if (im.front) im.front->stop_accepting();  // no new connections; idle ones close
    if (im.sched) im.sched->shutdown(im.opt.shutdown_timeout);  // finish, or cancel at the deadline
    // Answers to cancelled work get 1.5 s more to be written; then every socket is shut down.
    const auto hard = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(im.opt.shutdown_timeout + 1.5));
    if (im.front) im.front->stop(hard);
}

int serve_until_signal(const ServerOptions& options) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // every thread created from here inherits the mask
    signal(SIGPIPE, SIG_IGN);
    auto server = Server::create(options);
    int port = server->start();
    std::fprintf(stderr, "janus serve: %s on http://%s:%d/v1 (Ctrl-C or SIGTERM to stop)\n",
                 server->model_id().c_str(), options.host.c_str(), port);
    if (!options.log && options.api_key.empty() && options.host != "127.0.0.1" &&
        options.host != "localhost" && options.host != "::1")
        std::fprintf(stderr, "janus serve: warning: no --api-key while listening on %s\n",
                     options.host.c_str());
    int sig = 0;
    sigwait(&set, &sig);
    std::fprintf(stderr, "janus serve: %s received, finishing in-flight requests (up to %g s)\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", options.shutdown_timeout);
    server->shutdown();
    std::fprintf(stderr, "janus serve: stopped\n");
    return 0;
}

}  // namespace janus
