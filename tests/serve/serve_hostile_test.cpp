// `janus serve` against hostile clients (issue 26), on loopback with raw sockets: chunked bodies over
// --max-body, the receive deadline, idle keep-alive connections, the connection bound, 64 half-open
// sockets while /health answers, pipelined requests in order, half-closed requests answered. Every
// loop is bounded in count and time.
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "raw_client.h"
#include "serve_fixture.h"

using namespace serve_test;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string chunked_head(const std::string& path) {
    return "POST " + path +
           " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
}

std::string chunk(const std::string& data) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx", data.size());
    return std::string(hex) + "\r\n" + data + "\r\n";
}

}  // namespace

TEST(ServeHostile, ChunkedBodyIsDecodedAndHeldToMaxBody) {
    auto o = tiny_options();
    o.max_body_bytes = 256 << 10;
    auto srv = Running::start(o);

    // Within the limit: odd chunk sizes, a chunk extension and a trailer; same answer as plain.
    const std::string text = "the quick brown fox jumps over the lazy dog";
    const std::string body = json{{"content", text}}.dump();
    {
        RawConn c(srv.port);
        ASSERT_TRUE(c.ok());
        std::string req = chunked_head("/tokenize");
        for (size_t i = 0; i < body.size(); i += 7) req += chunk(body.substr(i, 7));
        req += "0;ext=1\r\nX-Trailer: y\r\n\r\n";
        ASSERT_TRUE(c.send_all(req));
        std::string data, got;
        int status = 0;
        ASSERT_TRUE(read_response(c, data, status, got, 10)) << data;
        EXPECT_EQ(status, 200) << got;
        auto plain = post(*srv.client(), "/tokenize", json{{"content", text}});
        ASSERT_TRUE(plain);
        EXPECT_EQ(json::parse(got)["tokens"], json::parse(plain->body)["tokens"]);
    }
    // Over the limit: 413 as soon as the decoded body passes --max-body; the client sees it while it
    // is still sending (what it sent beyond the limit sat in socket buffers or was dropped unread).
    RawConn c(srv.port);
    ASSERT_TRUE(c.send_all(chunked_head("/v1/completions") + chunk("{\"prompt\": \"")));
    const std::string piece(16 << 10, 'a');
    size_t sent = 0;
    auto t0 = Clock::now();
    while (sent < (64u << 20) && since(t0) < 20 && !c.readable(0)) {
        if (!c.send_all(chunk(piece))) break;
        sent += piece.size();
    }
    bool eof = false;
    std::string data = c.read_until("", 10, &eof), got;
    int status = 0;
    ASSERT_TRUE(take_response(data, status, got)) << data.substr(0, 300);
    EXPECT_EQ(status, 413) << got;
    EXPECT_NE(got.find("--max-body"), std::string::npos) << got;
    EXPECT_TRUE(eof) << "the connection closes after a 413";
    EXPECT_LT(sent, size_t(16) << 20) << "no 413 while the client kept sending";
    EXPECT_LT(since(t0), 5.0);
    // The server is fine afterwards.
    auto h = srv.client()->Get("/health");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200);
}

TEST(ServeHostile, ReceiveDeadlineAndIdleTimeout) {
    auto o = tiny_options();
    o.receive_timeout = 1.0;
    o.idle_timeout = 0.5;
    auto srv = Running::start(o);
    // A client dripping its headers one byte per 100 ms gets 408 once the whole request is 1 s late.
    {
        RawConn c(srv.port);
        ASSERT_TRUE(c.ok());
        const std::string req = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(100, 'z');
        auto t0 = Clock::now();
        std::string answer;
        for (size_t i = 0; i < req.size() && since(t0) < 5; ++i) {
            if (!c.send_all(req.substr(i, 1))) break;
            if (c.readable(100)) {
                answer = c.read_until("}}", 2);
                break;
            }
        }
        double secs = since(t0);
        EXPECT_NE(answer.find("HTTP/1.1 408"), std::string::npos) << answer;
        EXPECT_GT(secs, 0.9);
        EXPECT_LT(secs, 2.5);
    }
    // A Content-Length body that never arrives: 408 too.
    {
        RawConn c(srv.port);
        ASSERT_TRUE(c.send_all("POST /tokenize HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"con"));
        auto t0 = Clock::now();
        std::string answer = c.read_until("}}", 4);
        EXPECT_NE(answer.find("HTTP/1.1 408"), std::string::npos) << answer;
        EXPECT_LT(since(t0), 2.5);
    }
    // An idle connection (no request at all, or none after an answered one) is closed.
    {
        RawConn c(srv.port);
        ASSERT_TRUE(c.send_all("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
        std::string data, body;
        int status = 0;
        ASSERT_TRUE(read_response(c, data, status, body, 5));
        auto t0 = Clock::now();
        bool eof = false;
        c.read_until("", 4, &eof);
        EXPECT_TRUE(eof) << "idle keep-alive connection not closed";
        EXPECT_LT(since(t0), 2.0);
    }
}

TEST(ServeHostile, SixtyFourHalfOpenSocketsDoNotStarveHealth) {
    auto o = tiny_options();
    o.http_threads = 4;  // far fewer workers than slow clients
    auto srv = Running::start(o);
    std::vector<std::unique_ptr<RawConn>> slow;
    for (int i = 0; i < 64; ++i) {
        slow.push_back(std::make_unique<RawConn>(srv.port));
        ASSERT_TRUE(slow.back()->ok()) << i;
        // Half the sockets stop inside the headers, half inside a Content-Length body.
        ASSERT_TRUE(slow.back()->send_all(
            i % 2 ? "GET /health HTTP/1.1\r\nHost: x\r\nX-Half: "
                  : "POST /tokenize HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"content\": \""));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto c = srv.client();
    for (int k = 0; k < 5; ++k) {
        auto t0 = Clock::now();
        auto h = c->Get("/health");
        double secs = since(t0);
        ASSERT_TRUE(h) << k;
        EXPECT_EQ(h->status, 200);
        EXPECT_LT(secs, 1.0) << "/health took " << secs << " s with 64 slow clients";
        auto t = post(*c, "/v1/completions", {{"prompt", "hi"}, {"max_tokens", 2}});
        ASSERT_TRUE(t);
        EXPECT_EQ(t->status, 200);
    }
    // They are all still open (not answered, not dropped) until their deadline.
    for (auto& s : slow) EXPECT_FALSE(s->readable(0));
}

TEST(ServeHostile, ConnectionsBeyondTheBoundGet503) {
    auto o = tiny_options();
    o.max_connections = 8;
    auto srv = Running::start(o);
    std::vector<std::unique_ptr<RawConn>> held;
    for (int i = 0; i < 8; ++i) {
        held.push_back(std::make_unique<RawConn>(srv.port));
        ASSERT_TRUE(held.back()->send_all("GET /health HTTP/1.1\r\nHost: x\r\n"));  // unfinished
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    RawConn extra(srv.port);
    ASSERT_TRUE(extra.ok());
    bool eof = false;
    std::string answer = extra.read_until("", 5, &eof);
    EXPECT_NE(answer.find("HTTP/1.1 503"), std::string::npos) << answer;
    EXPECT_NE(answer.find("--max-connections"), std::string::npos) << answer;
    EXPECT_TRUE(eof);
    held.clear();  // freed connections make room again
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto h = srv.client()->Get("/health");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200);
}

TEST(ServeHostile, PipelinedRequestsAreAnsweredInOrder) {
    auto srv = Running::start(tiny_options());
    RawConn c(srv.port);
    ASSERT_TRUE(c.ok());
    const std::vector<std::string> texts = {"a", "a b", "a b c", "a b c d", "a b c d e", "x", "x y", "x y z"};
    std::string all;
    for (size_t i = 0; i < texts.size(); ++i)
        all += i == 3 ? "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                      : http_post("/tokenize", json{{"content", texts[i]}, {"add_special", false}}.dump());
    ASSERT_TRUE(c.send_all(all));  // one write: every request arrives back to back
    std::string data;
    auto t0 = Clock::now();
    for (size_t i = 0; i < texts.size(); ++i) {
        int status = 0;
        std::string body;
        while (!take_response(data, status, body) && since(t0) < 20) data += c.read_until("", 0.5);
        ASSERT_EQ(status, 200) << "response " << i << " missing: " << data.substr(0, 200);
        json j = json::parse(body);
        if (i == 3) {
            EXPECT_TRUE(j.contains("running")) << body;
        } else {
            auto ids = post(*srv.client(), "/tokenize", json{{"content", texts[i]}, {"add_special", false}});
            ASSERT_TRUE(ids);
            EXPECT_EQ(j["tokens"], json::parse(ids->body)["tokens"]) << "response " << i << " out of order";
        }
    }
}

TEST(ServeHostile, HalfClosedRequestsAreAnswered) {
    auto o = tiny_options();
    o.max_tokens = 400;
    o.ctx = 2048;
    auto srv = Running::start(o);
    // Long enough that the handler sees the half-close while it waits (the hang-up probe runs).
    for (const json& b : {json{{"prompt", "go"}, {"max_tokens", 400}, {"ignore_eos", true}, {"temperature", 0}},
                          json{{"prompt", "go"}, {"max_tokens", 400}, {"ignore_eos", true}, {"stream", true}}}) {
        RawConn c(srv.port);
        ASSERT_TRUE(c.send_all(http_post("/v1/completions", b.dump())));
        c.half_close();
        bool eof = false;
        std::string data = c.read_until("", 60, &eof), body;
        int status = 0;
        ASSERT_TRUE(take_response(data, status, body)) << data.substr(0, 300);
        EXPECT_EQ(status, 200) << body.substr(0, 300);
        if (b.contains("stream"))
            EXPECT_EQ(sse_events(body).back(), "[DONE]");
        else
            EXPECT_EQ(json::parse(body)["usage"]["completion_tokens"], 400) << body.substr(0, 300);
        EXPECT_TRUE(eof) << "the connection should close after answering a half-closed client";
    }
    // Two pipelined requests, then a half-close: both answered.
    RawConn c(srv.port);
    ASSERT_TRUE(c.send_all(http_post("/tokenize", R"({"content": "a"})") + http_post("/tokenize", R"({"content": "b"})")));
    c.half_close();
    std::string data = c.read_until("", 10), body;
    int status = 0, answered = 0;
    while (take_response(data, status, body)) answered += status == 200;
    EXPECT_EQ(answered, 2);
    auto h = json::parse(srv.client()->Get("/health")->body);
    EXPECT_EQ(h["cancelled"], 0) << h.dump();
}
