// The connection layer of `janus serve`: our own accept loop and request reader in front of
// cpp-httplib's request processing. One poll() thread accepts connections and reads whole requests
// (request line, headers, body; Content-Length or chunked) under a total receive deadline and the
// body limit, so a slow or idle client never holds a worker thread. A complete request, re-framed
// with Content-Length, goes to a bounded worker pool that runs httplib's routing and writes the
// response straight to the socket (each piece — head, body, streamed event — within the write
// timeout). Requests pipelined on
// one connection are answered one after another, in order; a request whose client half-closed is
// still answered. Connections beyond the bound get 503 and are closed.
#pragma once
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace janus::serve {

// httplib::Server with its (protected) per-request processing opened up: routes, handlers and the
// response writer stay httplib's; sockets and request framing are ours.
class HttpCore : public httplib::Server {
public:
    using httplib::Server::process_request;
    // httplib ends chunked (streamed) responses early once it believes its listening socket is
    // gone (svr_sock_ == INVALID_SOCKET); it never listens here, so a marker says "running". The
    // marker is never a real descriptor and httplib never closes it (we call neither listen nor stop).
    void mark_running(bool on) { svr_sock_ = on ? socket_t(0x7fffffff) : INVALID_SOCKET; }
};

struct FrontOptions {
    int workers = 16;                  // threads running handlers
    int max_connections = 256;         // open connections; more are answered 503 and closed
    int64_t max_body = 32 << 20;       // decoded body bytes, any transfer encoding → 413
    int64_t max_header = 64 << 10;     // request line + headers → 431
    double receive_timeout = 30;       // seconds from a request's first byte to its last → 408
    double idle_timeout = 5;           // seconds a connection may wait for its next request
    double write_timeout = 30;         // seconds to write one piece of a response (head, body, event)
    int keep_alive_max = 1000;         // requests per connection
    std::function<void(const std::string&)> log;  // rejected requests (413, 408, ...) and events
    std::function<std::string(int status, const std::string& message)> error_json;  // OpenAI body
    std::function<void(bool large)> after_request;  // e.g. return memory after a large request
};

struct Conn;

class HttpFront {
public:
    HttpFront(HttpCore& core, FrontOptions options);
    ~HttpFront();
    // Binds host:port (0 = any) and listens; returns the port. Throws janus::Error.
    int bind(const std::string& host, int port);
    void start();  // the reader thread and the workers
    // No new connections; idle and half-read connections are closed; answered connections close.
    void stop_accepting();
    // Waits for requests in progress until `hard_deadline`, then shuts their sockets down (writes
    // fail at once) and joins every thread. Idempotent.
    void stop(std::chrono::steady_clock::time_point hard_deadline);
    int open_connections() const;

private:
    void reader_loop();
    void worker_loop();
    void accept_all();
    void read_conn(const std::shared_ptr<Conn>& c);
    // Parses what has arrived; dispatches a complete request or rejects. false: connection closed.
    bool advance(const std::shared_ptr<Conn>& c);
    void reject(const std::shared_ptr<Conn>& c, int status, const std::string& message);
    void close_conn(const std::shared_ptr<Conn>& c);
    void process(const std::shared_ptr<Conn>& c);
    void wake();

    HttpCore& core_;
    FrontOptions opt_;
    int listen_fd_ = -1;
    int wake_[2] = {-1, -1};
    std::thread reader_;
    std::vector<std::thread> workers_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Conn>> work_;      // complete requests waiting for a worker
    std::deque<std::shared_ptr<Conn>> returned_;  // keep-alive connections back from workers
    std::map<int, std::shared_ptr<Conn>> conns_;  // every open connection (reader-owned or not)
    bool accepting_ = true;
    bool stopping_ = false;
    bool stopped_ = false;
    int busy_ = 0;  // workers inside process()
    std::atomic<int64_t> hard_deadline_ns_{INT64_MAX};  // steady_clock ns; writes give up after it
};

// For route handlers, on the worker thread processing the request: whether its client has gone
// away. An end-of-stream from the client is either a half-close (still waiting for the answer) or a
// hang-up; to tell them apart the server sends one interim "HTTP/1.1 100 Continue" (HTTP/1.1
// clients skip it): a closed socket answers with a reset, a half-closed one takes it.
bool current_client_gone();

}  // namespace janus::serve
