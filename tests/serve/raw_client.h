// A raw loopback TCP client for the `janus serve` hostile-client tests: send exact bytes (partial
// headers, chunked bodies, pipelined requests), half-close, and read with a deadline — what
// httplib::Client cannot do. Every wait is bounded.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>

namespace serve_test {

struct RawConn {
    int fd = -1;
    explicit RawConn(int port) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(uint16_t(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd);
            fd = -1;
        }
    }
    ~RawConn() {
        if (fd >= 0) ::close(fd);
    }
    RawConn(const RawConn&) = delete;
    RawConn& operator=(const RawConn&) = delete;
    bool ok() const { return fd >= 0; }
    // Sends everything (false when the peer reset or closed).
    bool send_all(const std::string& s) {
        size_t done = 0;
        while (done < s.size()) {
            ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
            if (n <= 0) return false;
            done += size_t(n);
        }
        return true;
    }
    void half_close() { ::shutdown(fd, SHUT_WR); }
    // Whether bytes (or end-of-stream) can be read within `ms`.
    bool readable(int ms) {
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, ms) > 0;
    }
    // Reads until end-of-stream, `stop` appears in what was read, or `secs` pass.
    std::string read_until(const std::string& stop, double secs, bool* eof = nullptr) {
        std::string out;
        auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(secs);
        if (eof) *eof = false;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until -
                                                                              std::chrono::steady_clock::now());
            if (left.count() <= 0 || !readable(int(left.count()))) break;
            char buf[65536];
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) {
                if (eof) *eof = true;
                break;
            }
            out.append(buf, size_t(n));
            if (!stop.empty() && out.find(stop) != std::string::npos) break;
        }
        return out;
    }
};

// Splits one HTTP/1.1 response off the front of `data` (Content-Length or chunked framing; interim
// 1xx responses skipped). Returns false when `data` does not hold a whole response yet.
inline bool take_response(std::string& data, int& status, std::string& body) {
    for (;;) {
        size_t he = data.find("\r\n\r\n");
        if (he == std::string::npos || data.rfind("HTTP/1.", 0) != 0) return false;
        status = std::stoi(data.substr(9, 3));
        std::string head = data.substr(0, he + 2);
        for (auto& ch : head) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        if (status >= 100 && status < 200) {
            data.erase(0, he + 4);
            continue;
        }
        size_t pos = he + 4;
        size_t cl = head.find("content-length:");
        if (cl != std::string::npos) {
            size_t n = std::stoul(head.substr(cl + 15));
            if (data.size() < pos + n) return false;
            body = data.substr(pos, n);
            data.erase(0, pos + n);
            return true;
        }
        if (head.find("transfer-encoding: chunked") == std::string::npos) return false;
        body.clear();
        for (;;) {
            size_t e = data.find("\r\n", pos);
            if (e == std::string::npos) return false;
            size_t n = std::stoul(data.substr(pos, e - pos), nullptr, 16);
            if (data.size() < e + 2 + n + 2) return false;
            body += data.substr(e + 2, n);
            pos = e + 2 + n + 2;
            if (n == 0) break;
        }
        data.erase(0, pos);
        return true;
    }
}

// Reads from `c` until one whole response is in `data` (or `secs` pass); false on timeout/close.
inline bool read_response(RawConn& c, std::string& data, int& status, std::string& body, double secs) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(secs);
    while (!take_response(data, status, body)) {
        double left = std::chrono::duration<double>(until - std::chrono::steady_clock::now()).count();
        if (left <= 0) return false;
        bool eof = false;
        data += c.read_until("", std::min(left, 0.2), &eof);
        if (eof) return take_response(data, status, body);
    }
    return true;
}

inline std::string http_post(const std::string& path, const std::string& body, const std::string& extra = "") {
    return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + extra +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace serve_test
