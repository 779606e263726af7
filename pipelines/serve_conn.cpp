// HttpFront (serve_conn.h): accept loop, request reader (request line + headers, Content-Length or
// chunked body, receive deadline, body and header limits), the worker pool that hands complete
// requests to httplib, lingering close after a rejection, and the hang-up probe for handlers.
#include "pipelines/serve_conn.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "janus/error.h"

namespace janus::serve {

using Clock = std::chrono::steady_clock;

namespace {

// reading/closing: owned by the reader thread; queued/processing: by the workers; returned: on its
// way back to the reader (in returned_), not to be polled until the reader takes it.
enum class State { reading, queued, processing, returned, closing };
enum class Chunk { size, data, data_crlf, trailer, done };

const char* reason(int status) {
    switch (status) {
        case 400: return "Bad Request";
        case 408: return "Request Timeout";
        case 413: return "Payload Too Large";
        case 431: return "Request Header Fields Too Large";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        case 505: return "HTTP Version Not Supported";
        default: return "Error";
    }
}

std::string lower(std::string s) {
    for (char& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

std::string trim(const std::string& s) {
    size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

int64_t to_ns(Clock::time_point t) {
    return t == Clock::time_point::max() ? INT64_MAX
                                         : std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               t.time_since_epoch())
                                               .count();
}

}  // namespace

struct Conn {
    int fd = -1;
    std::atomic<State> state{State::reading};
    std::string in;  // received, not yet consumed
    bool peer_eof = false;
    bool started = false;  // the current request's first byte has arrived
    Clock::time_point deadline;
    int served = 0;
    // the request being read
    bool have_head = false;
    std::string head;  // request line + headers without the framing headers
    bool chunked = false, http10 = false;
    int64_t content_length = 0;
    Chunk cstate = Chunk::size;
    int64_t chunk_left = 0;
    int64_t trailer_bytes = 0;
    std::string body;
    std::string request;  // complete, re-framed, for the worker
    // worker side
    std::atomic<bool> broken{false}, gone{false};
    bool probed = false;
};

namespace {

thread_local Conn* tl_conn = nullptr;

// The Stream httplib reads one buffered request from and writes the response to the socket.
class ConnStream : public httplib::Stream {
public:
    ConnStream(Conn& c, double write_timeout, const std::atomic<int64_t>& hard_deadline_ns)
        : c_(c), write_timeout_(write_timeout), hard_(hard_deadline_ns) {}
    bool is_readable() const override { return pos_ < c_.request.size(); }
    bool is_writable() const override {
        return !c_.broken && to_ns(Clock::now()) < hard_.load();
    }
    ssize_t read(char* ptr, size_t size) override {
        size_t n = std::min(size, c_.request.size() - pos_);
        std::memcpy(ptr, c_.request.data() + pos_, n);
        pos_ += n;
        return ssize_t(n);
    }
    // One call writes one whole piece — the response head, a body, one streamed event — and must
    // finish within write_timeout (and before the shutdown deadline), however slowly the client
    // reads: a client reading a byte at a time cannot hold a worker for long.
    ssize_t write(const char* ptr, size_t size) override {
        int64_t until = to_ns(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(write_timeout_)));
        size_t done = 0;
        while (done < size) {
            if (c_.broken) return -1;
            ssize_t k = ::send(c_.fd, ptr + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (k > 0) {
                done += size_t(k);
                continue;
            }
            if (k < 0 && errno == EINTR) continue;
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                int64_t left_ns = std::min(until, hard_.load()) - to_ns(Clock::now());
                if (left_ns > 0) {
                    pollfd p{c_.fd, POLLOUT, 0};
                    ::poll(&p, 1, int(std::min<int64_t>(left_ns / 1000000 + 1, 200)));
                    continue;
                }
            }
            c_.broken = true;
            return -1;
        }
        return ssize_t(size);
    }
    void get_remote_ip_and_port(std::string& ip, int& port) const override { addr(ip, port, true); }
    void get_local_ip_and_port(std::string& ip, int& port) const override { addr(ip, port, false); }
    socket_t socket() const override { return c_.fd; }

private:
    void addr(std::string& ip, int& port, bool peer) const {
        sockaddr_storage a{};
        socklen_t len = sizeof a;
        int r = peer ? getpeername(c_.fd, reinterpret_cast<sockaddr*>(&a), &len)
                     : getsockname(c_.fd, reinterpret_cast<sockaddr*>(&a), &len);
        if (r != 0) return;
        char host[NI_MAXHOST], serv[NI_MAXSERV];
        if (getnameinfo(reinterpret_cast<sockaddr*>(&a), len, host, sizeof host, serv, sizeof serv,
                        NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
            ip = host;
            port = std::atoi(serv);
        }
    }
    Conn& c_;
    size_t pos_ = 0;
    double write_timeout_;
    const std::atomic<int64_t>& hard_;
};

}  // namespace

bool current_client_gone() {
    Conn* c = tl_conn;
    if (!c) return false;
    if (c->broken || c->gone) return true;
    char ch;
    ssize_t n = ::recv(c->fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return false;  // the next pipelined request: still there
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return false;
        c->gone = true;
        return true;
    }
    if (c->http10) return false;  // no 1xx for HTTP/1.0 clients: a half-close is answered
    if (!c->probed) {
        c->probed = true;
        static const char probe[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (::send(c->fd, probe, sizeof probe - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
            c->gone = true;
        return c->gone;
    }
    tcp_info ti{};
    socklen_t len = sizeof ti;
    int err = 0;
    socklen_t elen = sizeof err;
    if ((getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && ti.tcpi_state == TCP_CLOSE) ||
        (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err != 0))
        c->gone = true;
    return c->gone;
}

HttpFront::HttpFront(HttpCore& core, FrontOptions options) : core_(core), opt_(std::move(options)) {}

HttpFront::~HttpFront() {
    stop(Clock::now());
    if (listen_fd_ >= 0) ::close(listen_fd_);
    for (int f : wake_)
        if (f >= 0) ::close(f);
}

int HttpFront::bind(const std::string& host, int port) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    const std::string where = host + ":" + std::to_string(port);
    if (int e = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); e != 0)
        throw Error("janus serve: cannot resolve --host " + host + " (" + gai_strerror(e) + ")");
    int fd = -1;
    for (addrinfo* a = res; a && fd < 0; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) continue;
        int yes = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
            ::close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        throw Error("janus serve: cannot bind " + where +
                    " (in use, or not an address of this machine); choose another --port / --host");
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    int bound = a.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6&>(a).sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in&>(a).sin_port);
    listen_fd_ = fd;
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw Error("janus serve: pipe2 failed");
    return bound;
}

void HttpFront::start() {
    core_.mark_running(true);
    for (int i = 0; i < opt_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
    reader_ = std::thread([this] { reader_loop(); });
}

void HttpFront::wake() {
    if (wake_[1] >= 0) {
        char b = 1;
        [[maybe_unused]] ssize_t r = ::write(wake_[1], &b, 1);
    }
}

int HttpFront::open_connections() const {
    std::lock_guard<std::mutex> lk(mu_);
    return int(conns_.size());
}

void HttpFront::stop_accepting() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        accepting_ = false;
    }
    wake();
}

void HttpFront::stop(Clock::time_point hard_deadline) {
    std::unique_lock<std::mutex> lk(mu_);
    if (stopped_) return;
    stopped_ = true;
    accepting_ = false;
    hard_deadline_ns_ = to_ns(hard_deadline);
    lk.unlock();
    wake();
    lk.lock();
    cv_.wait_until(lk, hard_deadline, [&] { return work_.empty() && busy_ == 0; });
    // Past the deadline: whatever still writes to a client fails at once.
    for (auto& [fd, c] : conns_) ::shutdown(fd, SHUT_RDWR);
    stopping_ = true;
    cv_.notify_all();
    lk.unlock();
    wake();
    if (reader_.joinable()) reader_.join();
    for (auto& t : workers_)
        if (t.joinable()) t.join();
    workers_.clear();
    core_.mark_running(false);
    lk.lock();
    for (auto& [fd, c] : conns_) ::close(fd);
    conns_.clear();
    work_.clear();
    returned_.clear();
}

void HttpFront::close_conn(const std::shared_ptr<Conn>& c) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = conns_.find(c->fd);
    if (it != conns_.end() && it->second == c) {
        conns_.erase(it);
        ::close(c->fd);
    }
}

void HttpFront::reject(const std::shared_ptr<Conn>& c, int status, const std::string& message) {
    std::string body = opt_.error_json ? opt_.error_json(status, message) : message;
    std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) +
                    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n\r\n" + body;
    [[maybe_unused]] ssize_t k = ::send(c->fd, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (opt_.log) opt_.log("- - " + std::to_string(status) + " (" + message + ")");
    // Lingering close: read and drop what the client still sends for a moment, so that closing with
    // unread data does not reset the connection before the client has read the answer.
    ::shutdown(c->fd, SHUT_WR);
    c->state = State::closing;
    c->in.clear();
    c->in.shrink_to_fit();
    c->body.clear();
    c->body.shrink_to_fit();
    c->deadline = Clock::now() + std::chrono::seconds(2);
}

void HttpFront::accept_all() {
    for (;;) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;  // EAGAIN, or an error for this one connection
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_shared<Conn>();
        c->fd = fd;
        c->deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(opt_.idle_timeout));
        bool full;
        {
            std::lock_guard<std::mutex> lk(mu_);
            full = int(conns_.size()) >= opt_.max_connections;
            conns_[fd] = c;
        }
        if (full)
            reject(c, 503,
                   "too many open connections (--max-connections " + std::to_string(opt_.max_connections) +
                       "); retry later");
    }
}

void HttpFront::read_conn(const std::shared_ptr<Conn>& c) {
    char buf[65536];
    ssize_t n = ::recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
        if (c->state == State::closing) return;  // dropped
        if (!c->started) {
            c->started = true;
            c->deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(opt_.receive_timeout));
        }
        c->in.append(buf, size_t(n));
    } else if (n == 0) {
        c->peer_eof = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        c->peer_eof = true;
        c->broken = true;
    }
}

bool HttpFront::advance(const std::shared_ptr<Conn>& c) {
    if (c->state == State::closing) {
        if (c->peer_eof || Clock::now() >= c->deadline) {
            close_conn(c);
            return false;
        }
        return true;
    }
    if (!c->have_head) {
        size_t skip = 0;  // empty lines before a request line are allowed (RFC 9112 §2.2)
        while (skip + 1 < c->in.size() && c->in[skip] == '\r' && c->in[skip + 1] == '\n') skip += 2;
        if (skip) c->in.erase(0, skip);
        size_t end = c->in.find("\r\n\r\n");
        if (end == std::string::npos) {
            if (int64_t(c->in.size()) > opt_.max_header) {
                reject(c, 431, "request line and headers are over " + std::to_string(opt_.max_header) + " bytes");
                return true;
            }
            if (c->peer_eof) {
                if (!c->in.empty() && opt_.log) opt_.log("- - (client closed in the middle of a request)");
                close_conn(c);
                return false;
            }
            return true;
        }
        if (int64_t(end) > opt_.max_header) {
            reject(c, 431, "request line and headers are over " + std::to_string(opt_.max_header) + " bytes");
            return true;
        }
        std::string head = c->in.substr(0, end + 2);
        c->in.erase(0, end + 4);
        size_t eol = head.find("\r\n");
        std::string line = head.substr(0, eol);
        size_t s1 = line.find(' '), s2 = line.rfind(' ');
        if (s1 == std::string::npos || s2 == s1 || s1 == 0 || line.find_first_of("\t\r\n\0", 0) != std::string::npos) {
            reject(c, 400, "malformed request line");
            return true;
        }
        std::string version = line.substr(s2 + 1);
        if (version != "HTTP/1.1" && version != "HTTP/1.0") {
            reject(c, version.rfind("HTTP/", 0) == 0 ? 505 : 400, "only HTTP/1.0 and HTTP/1.1 are served");
            return true;
        }
        c->http10 = version == "HTTP/1.0";
        std::string out = line + "\r\n";
        bool have_cl = false, have_te = false, expect = false;
        int64_t cl = 0;
        size_t pos = eol + 2;
        while (pos < head.size()) {
            size_t e = head.find("\r\n", pos);
            std::string h = head.substr(pos, e - pos);
            pos = e + 2;
            size_t colon = h.find(':');
            if (h.empty() || h[0] == ' ' || h[0] == '\t' || colon == std::string::npos || colon == 0 ||
                h.find_first_of(" \t") < colon) {
                reject(c, 400, "malformed header line");
                return true;
            }
            std::string name = lower(h.substr(0, colon)), value = trim(h.substr(colon + 1));
            if (name == "content-length") {
                if (value.empty() || value.size() > 18 || value.find_first_not_of("0123456789") != std::string::npos ||
                    (have_cl && std::stoll(value) != cl)) {
                    reject(c, 400, "invalid Content-Length");
                    return true;
                }
                have_cl = true;
                cl = std::stoll(value);
            } else if (name == "transfer-encoding") {
                if (lower(value) != "chunked" || have_te) {
                    reject(c, 501, "Transfer-Encoding '" + value + "' is not supported (chunked only)");
                    return true;
                }
                have_te = true;
            } else if (name == "expect") {
                expect = lower(value) == "100-continue";
            } else {
                out += h + "\r\n";
            }
        }
        if (have_cl && have_te) {
            reject(c, 400, "both Content-Length and Transfer-Encoding given");
            return true;
        }
        if (cl > opt_.max_body) {
            reject(c, 413, "request body of " + std::to_string(cl) + " bytes is larger than --max-body (" +
                               std::to_string(opt_.max_body) + " bytes)");
            return true;
        }
        c->have_head = true;
        c->head = std::move(out);
        c->chunked = have_te;
        c->content_length = cl;
        c->cstate = Chunk::size;
        c->trailer_bytes = 0;
        if (expect && !c->http10 && (have_te || cl > 0) && c->in.empty()) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            [[maybe_unused]] ssize_t k = ::send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
    }
    bool complete = false;
    if (!c->chunked) {
        if (int64_t(c->in.size()) >= c->content_length) {
            c->body = c->in.substr(0, size_t(c->content_length));
            c->in.erase(0, size_t(c->content_length));
            complete = true;
        }
    } else {
        size_t p = 0;
        std::string& in = c->in;
        bool bad = false, need_more = false;
        while (!need_more && !bad && c->cstate != Chunk::done) {
            if (c->cstate == Chunk::size || c->cstate == Chunk::trailer) {
                size_t e = in.find("\r\n", p);
                if (e == std::string::npos) {
                    if (in.size() - p > 1024) bad = true;
                    need_more = true;
                    break;
                }
                std::string line = in.substr(p, e - p);
                p = e + 2;
                if (c->cstate == Chunk::trailer) {
                    c->trailer_bytes += int64_t(line.size()) + 2;
                    if (c->trailer_bytes > opt_.max_header) bad = true;
                    if (line.empty()) c->cstate = Chunk::done;
                    continue;
                }
                std::string hex = trim(line.substr(0, line.find(';')));
                if (hex.empty() || hex.size() > 15 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
                    bad = true;
                    break;
                }
                int64_t n = std::stoll(hex, nullptr, 16);
                if (int64_t(c->body.size()) + n > opt_.max_body) {
                    reject(c, 413, "chunked request body is larger than --max-body (" + std::to_string(opt_.max_body) +
                                       " bytes)");
                    return true;
                }
                c->chunk_left = n;
                c->cstate = n == 0 ? Chunk::trailer : Chunk::data;
            } else if (c->cstate == Chunk::data) {
                size_t take = size_t(std::min<int64_t>(c->chunk_left, int64_t(in.size() - p)));
                c->body.append(in, p, take);
                p += take;
                c->chunk_left -= int64_t(take);
                if (c->chunk_left > 0) need_more = true;
                else c->cstate = Chunk::data_crlf;
            } else if (c->cstate == Chunk::data_crlf) {
                if (in.size() - p < 2) {
                    need_more = true;
                } else if (in.compare(p, 2, "\r\n") != 0) {
                    bad = true;
                } else {
                    p += 2;
                    c->cstate = Chunk::size;
                }
            }
        }
        in.erase(0, p);
        if (bad) {
            reject(c, 400, "malformed chunked request body");
            return true;
        }
        complete = c->cstate == Chunk::done;
    }
    if (!complete) {
        if (c->peer_eof) {
            if (opt_.log) opt_.log("- - (client closed in the middle of a request)");
            close_conn(c);
            return false;
        }
        return true;
    }
    c->request = std::move(c->head);
    if (c->chunked || c->content_length > 0 || !c->body.empty())
        c->request += "Content-Length: " + std::to_string(c->body.size()) + "\r\n";
    c->request += "\r\n";
    c->request += c->body;
    c->body.clear();
    c->body.shrink_to_fit();
    c->head.clear();
    c->have_head = false;
    c->started = false;
    {
        std::lock_guard<std::mutex> lk(mu_);
        c->state = State::queued;
        work_.push_back(c);
    }
    cv_.notify_all();
    return true;
}

void HttpFront::reader_loop() {
    std::vector<pollfd> pfds;
    std::vector<std::shared_ptr<Conn>> owned;
    bool listen_closed = false;
    for (;;) {
        std::vector<std::shared_ptr<Conn>> back;
        bool accepting, stopping;
        {
            std::lock_guard<std::mutex> lk(mu_);
            accepting = accepting_;
            stopping = stopping_;
            back.assign(returned_.begin(), returned_.end());
            returned_.clear();
            owned.clear();
            for (auto& [fd, c] : conns_)
                if (c->state == State::reading || c->state == State::closing) owned.push_back(c);
        }
        auto now = Clock::now();
        if (!accepting && !listen_closed) {
            ::close(listen_fd_);
            listen_fd_ = -1;
            listen_closed = true;
        }
        for (auto& c : back) {  // keep-alive connections back from a worker
            c->state = State::reading;
            c->started = !c->in.empty();
            c->deadline = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                    c->started ? opt_.receive_timeout : opt_.idle_timeout));
            if (!accepting) {
                close_conn(c);
                continue;
            }
            if (advance(c) && (c->state == State::reading || c->state == State::closing)) owned.push_back(c);
        }
        if (!accepting || stopping) {  // shutting down: idle and half-read connections go now
            for (auto& c : owned) close_conn(c);
            owned.clear();
            if (stopping) return;
        }
        pfds.clear();
        pfds.push_back({wake_[0], POLLIN, 0});
        if (!listen_closed) pfds.push_back({listen_fd_, POLLIN, 0});
        const size_t first = pfds.size();
        auto next = now + std::chrono::seconds(1);
        for (auto& c : owned) {
            pfds.push_back({c->fd, POLLIN, 0});
            next = std::min(next, c->deadline);
        }
        int ms = int(std::max<int64_t>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1));
        int r = ::poll(pfds.data(), nfds_t(pfds.size()), ms);
        if (r < 0 && errno != EINTR) continue;
        if (pfds[0].revents) {
            char b[256];
            while (::read(wake_[0], b, sizeof b) > 0) {
            }
        }
        if (!listen_closed && pfds[1].revents) accept_all();
        now = Clock::now();
        for (size_t i = 0; i < owned.size(); ++i) {
            auto& c = owned[i];
            if (pfds[first + i].revents) {
                read_conn(c);
                if (!advance(c)) continue;
            }
            if (c->state == State::reading && Clock::now() >= c->deadline) {
                if (c->started)
                    reject(c, 408, "the request was not received within --receive-timeout (" +
                                       std::to_string(int(opt_.receive_timeout)) + " s)");
                else
                    close_conn(c);  // idle keep-alive connection
            } else if (c->state == State::closing && Clock::now() >= c->deadline) {
                close_conn(c);
            }
        }
    }
}

void HttpFront::worker_loop() {
    for (;;) {
        std::shared_ptr<Conn> c;
        {
            std::unique_lock<std::mutex> lk(mu_);
            cv_.wait(lk, [&] { return stopping_ || !work_.empty(); });
            if (work_.empty() || stopping_) {
                if (stopping_) return;
                continue;
            }
            c = work_.front();
            work_.pop_front();
            c->state = State::processing;
            ++busy_;
        }
        process(c);
        {
            std::lock_guard<std::mutex> lk(mu_);
            --busy_;
        }
        cv_.notify_all();
    }
}

void HttpFront::process(const std::shared_ptr<Conn>& c) {
    bool accepting;
    {
        std::lock_guard<std::mutex> lk(mu_);
        accepting = accepting_;
    }
    // A half-closed client is answered; the connection closes after its last buffered request.
    const bool close = (c->peer_eof && c->in.find("\r\n\r\n") == std::string::npos) || !accepting ||
                       c->served + 1 >= opt_.keep_alive_max;
    bool connection_closed = false;
    const bool large = c->request.size() > (size_t(64) << 10);  // e.g. a small PNG that decodes big
    c->probed = false;
    {
        ConnStream s(*c, opt_.write_timeout, hard_deadline_ns_);
        tl_conn = c.get();
        try {
            core_.process_request(s, close, connection_closed, [](httplib::Request&) {});
        } catch (...) {
            connection_closed = true;
        }
        tl_conn = nullptr;
    }
    c->served++;
    c->request.clear();
    c->request.shrink_to_fit();
    if (opt_.after_request) opt_.after_request(large);
    std::lock_guard<std::mutex> lk(mu_);
    if (close || connection_closed || c->broken || c->gone || !accepting_ || stopping_) {
        auto it = conns_.find(c->fd);
        if (it != conns_.end() && it->second == c) {
            conns_.erase(it);
            ::close(c->fd);
        }
        return;
    }
    c->state = State::returned;
    returned_.push_back(c);
    wake();
}

}  // namespace janus::serve
