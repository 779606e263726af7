// janus::Server (include/janus/server.h): the cpp-httplib server around the scheduler — option
// checks, the route tables (serve_chat.cpp, serve_images.cpp, serve_misc.cpp), API-key check on every
// route, OpenAI-format bodies for errors httplib raises itself (404, 413, ...), graceful shutdown,
// and serve_until_signal() for the CLI (SIGINT/SIGTERM via sigwait on the main thread).
#include "janus/server.h"

#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "janus/error.h"
#include "pipelines/serve_scheduler.h"
#include "pipelines/serve_util.h"

namespace janus {

using serve::ApiError;

struct Server::Impl {
    ServerOptions opt;
    std::unique_ptr<Scheduler> sched;
    httplib::Server svr;
    serve::Context ctx;
    std::atomic<bool> draining{false};
    std::atomic<uint64_t> next_id{1};
    std::thread listener;
    int port = -1;
    bool shut = false;
    std::mutex shut_mu;

    void log(const std::string& s) const {
        if (opt.log) opt.log(s);
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
    httplib::Server& svr = im.svr;
    const int threads =
        im.opt.http_threads > 0 ? im.opt.http_threads : im.opt.max_concurrent + im.opt.max_queue + 8;
    svr.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
    svr.set_payload_max_length(size_t(im.opt.max_body_bytes));
    svr.set_read_timeout(30, 0);
    svr.set_write_timeout(60, 0);
    svr.set_keep_alive_timeout(5);
    svr.set_keep_alive_max_count(1000);

    const std::string key = im.opt.api_key;
    svr.set_pre_routing_handler([key, &im](const httplib::Request& req, httplib::Response& res) {
        if (!key.empty() && req.get_header_value("Authorization") != "Bearer " + key) {
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
            im.log(req.method + " " + req.path + " " + std::to_string(res.status));
        });
    serve::register_misc_routes(svr, im.ctx);
    serve::register_chat_routes(svr, im.ctx);
    serve::register_image_routes(svr, im.ctx);

    // Debian's libcpp-httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled in):
    // a burst of new connections then overflows the accept queue and clients see resets. Keep the
    // listening socket's fd and raise the backlog after bind (listen() again updates it on Linux).
    auto listen_fd = std::make_shared<int>(-1);
    svr.set_socket_options([listen_fd](socket_t sock) {
        httplib::default_socket_options(sock);
        *listen_fd = int(sock);
    });
    if (im.opt.port == 0) {
        im.port = svr.bind_to_any_port(im.opt.host);
        if (im.port < 0) throw Error("janus serve: cannot bind " + im.opt.host + " (any port)");
    } else {
        if (!svr.bind_to_port(im.opt.host, im.opt.port))
            throw Error("janus serve: cannot bind " + im.opt.host + ":" + std::to_string(im.opt.port) +
                        " (in use, or not an address of this machine); choose another --port / --host");
        im.port = im.opt.port;
    }
    if (*listen_fd >= 0) ::listen(*listen_fd, 1024);
    im.ctx.opt.port = im.port;
    if (im.opt.api_key.empty() && im.opt.host != "127.0.0.1" && im.opt.host != "localhost" &&
        im.opt.host != "::1")
        im.log("warning: listening on " + im.opt.host +
               " without --api-key: anyone who can reach this port can use the model");
    im.listener = std::thread([&svr] { svr.listen_after_bind(); });
    for (int i = 0; i < 500 && !svr.is_running(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return im.port;
}

void Server::shutdown() {
    Impl& im = *impl_;
    std::lock_guard<std::mutex> lk(im.shut_mu);
    if (im.shut) return;
    im.shut = true;
    im.draining = true;
    im.svr.stop();  // close the listening socket: no new connections
    if (im.sched) im.sched->shutdown(im.opt.shutdown_timeout);  // finish, or cancel at the deadline
    if (im.listener.joinable()) im.listener.join();             // handlers end once their jobs have ended
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
