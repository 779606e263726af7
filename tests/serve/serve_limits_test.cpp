// `janus serve` limits and lifecycle: API key on every route (401), 429 beyond max_concurrent +
// max_queue, the pixel limit on input images, request timeouts (504), client disconnect cancelling a
// row (streamed or not), graceful shutdown (in-flight streams end with [DONE] or an error event, new
// connections are refused), and the server's base64 codec against the test's independent one.
#include <atomic>
#include <chrono>
#include <thread>

#include "pipelines/serve_util.h"
#include "serve_fixture.h"

using namespace serve_test;

namespace {

json long_stream_body(int max_tokens) {
    return {{"prompt", "count forever"},
            {"max_tokens", max_tokens},
            {"temperature", 0},
            {"ignore_eos", true},
            {"stream", true}};
}

json health(Running& r) {
    return json::parse(r.client()->Get("/health")->body);
}

}  // namespace

TEST(ServeLimits, Base64MatchesIndependentCodec) {
    std::string all;
    for (int i = 0; i < 256; ++i) all += char(i);
    for (size_t n : {0, 1, 2, 3, 4, 5, 100, 256}) {
        std::string s = all.substr(0, n);
        EXPECT_EQ(janus::serve::base64_encode(s), b64(s)) << n;
        auto d = janus::serve::base64_decode(b64(s));
        ASSERT_TRUE(d.has_value()) << n;
        EXPECT_EQ(*d, s) << n;
    }
    EXPECT_FALSE(janus::serve::base64_decode("ab$c").has_value());
    EXPECT_FALSE(janus::serve::base64_decode("abcde").has_value());
    EXPECT_FALSE(janus::serve::base64_decode("ab=c").has_value());
}

TEST(ServeLimits, ApiKeyRequiredOnEveryRoute) {
    auto o = tiny_options();
    o.api_key = "sekret-123";
    auto srv = Running::start(o);
    auto none = srv.client();
    auto wrong = srv.client("nope");
    auto good = srv.client("sekret-123");
    for (auto* c : {none.get(), wrong.get()}) {
        expect_error(c->Get("/health"), 401, "health");
        expect_error(c->Get("/v1/models"), 401, "models");
        expect_error(c->Get("/v1/images/files/x.png"), 401, "files");
        expect_error(
            post(*c, "/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "hi"}}}}}), 401,
            "chat");
        expect_error(post(*c, "/v1/completions", {{"prompt", "hi"}}), 401, "completions");
        expect_error(post(*c, "/v1/images/generations", {{"prompt", "hi"}}), 401, "images");
        expect_error(post(*c, "/tokenize", {{"content", "hi"}}), 401, "tokenize");
        expect_error(post(*c, "/detokenize", {{"tokens", {1}}}), 401, "detokenize");
    }
    auto h = good->Get("/health");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200);
    auto r = post(*good, "/v1/completions", {{"prompt", "hi"}, {"max_tokens", 2}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
}

TEST(ServeLimits, BusyServerAnswers429AndRecovers) {
    auto o = tiny_options();
    o.max_concurrent = 1;
    o.max_queue = 0;
    o.max_tokens = 100000;
    o.ctx = 16384;
    auto srv = Running::start(o);
    std::atomic<bool> release{false};
    std::thread holder([&] {  // a long stream, dropped (→ cancelled) once `release` is set
        auto c = srv.client();
        httplib::Request req;
        req.method = "POST";
        req.path = "/v1/completions";
        req.body = long_stream_body(15000).dump();
        req.set_header("Content-Type", "application/json");
        req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return !release.load(); };
        c->send(req);
    });
    // Wait until the long request runs.
    for (int i = 0; i < 500 && health(srv)["running"].get<int>() < 1; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(health(srv)["running"].get<int>(), 1);
    auto c = srv.client();
    auto r = post(*c, "/v1/completions", {{"prompt", "hi"}, {"max_tokens", 2}});
    expect_error(r, 429, "second request while busy");
    EXPECT_EQ(json::parse(r->body)["error"]["type"], "rate_limit_error");
    release = true;
    holder.join();
    for (int i = 0; i < 300 && health(srv)["running"].get<int>() > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto ok = post(*c, "/v1/completions", {{"prompt", "hi"}, {"max_tokens", 2}});
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
}

TEST(ServeLimits, ClientDisconnectCancelsTheRow) {
    auto o = tiny_options();
    o.max_tokens = 100000;
    o.ctx = 16384;
    auto srv = Running::start(o);
    {
        auto c = srv.client();
        int chunks = 0;
        httplib::Request req;
        req.method = "POST";
        req.path = "/v1/completions";
        req.body = long_stream_body(15000).dump();
        req.set_header("Content-Type", "application/json");
        req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
            return ++chunks < 3;
        };  // hang up
        c->send(req);
        EXPECT_GE(chunks, 3);
    }
    json h;
    for (int i = 0; i < 500; ++i) {
        h = health(srv);
        if (h["running"] == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(h["running"], 0);
    EXPECT_EQ(h["cancelled"], 1) << h.dump();
}

TEST(ServeLimits, NonStreamingClientDisconnectCancelsToo) {
    auto o = tiny_options();
    o.max_tokens = 100000;
    o.ctx = 16384;
    auto srv = Running::start(o);
    {
        auto c = srv.client();
        c->set_read_timeout(0, 300000);  // give up after 0.3 s and close the connection
        auto r = post(*c, "/v1/completions", {{"prompt", "go"}, {"max_tokens", 15000}, {"ignore_eos", true}});
        EXPECT_FALSE(r);
    }
    json h;
    for (int i = 0; i < 300; ++i) {
        h = health(srv);
        if (h["running"] == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(h["running"], 0) << "the row kept running after its client left";
    EXPECT_EQ(h["cancelled"], 1) << h.dump();
}

TEST(ServeLimits, PixelLimitAndTimeout) {
    auto o = tiny_options();
    o.max_image_pixels = 100;  // 10x10
    o.request_timeout = 0.3;
    o.max_tokens = 100000;
    o.ctx = 16384;
    auto srv = Running::start(o);
    auto c = srv.client();
    std::string url = "data:image/png;base64," + b64(png_bytes(20, 20));
    json b = {{"messages",
               json::array(
                   {{{"role", "user"},
                     {"content", json::array({{{"type", "image_url"}, {"image_url", {{"url", url}}}}})}}})}};
    auto r = post(*c, "/v1/chat/completions", b);
    expect_error(r, 400, "over the pixel limit");
    EXPECT_NE(r->body.find("pixel"), std::string::npos) << r->body;
    auto t = post(*c, "/v1/completions", {{"prompt", "go"}, {"max_tokens", 15000}, {"ignore_eos", true}});
    expect_error(t, 504, "timeout");
    auto h = health(srv);
    EXPECT_EQ(h["running"], 0);
}

TEST(ServeLimits, GracefulShutdownFinishesOrCancelsInFlightWork) {
    auto o = tiny_options();
    o.max_tokens = 100000;
    o.ctx = 16384;
    o.shutdown_timeout = 0.2;
    auto srv = Running::start(o);
    std::string streamed;
    std::thread t([&] {
        auto c = srv.client();
        auto r = c->Post("/v1/completions", long_stream_body(15000).dump(), "application/json");
        if (r) streamed = r->body;
    });
    for (int i = 0; i < 500 && health(srv)["running"].get<int>() < 1; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto t0 = std::chrono::steady_clock::now();
    srv.server->shutdown();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t.join();
    EXPECT_LT(secs, 10.0);
    auto ev = sse_events(streamed);
    ASSERT_GE(ev.size(), 2u) << streamed.substr(0, 200);
    EXPECT_EQ(ev.back(), "[DONE]");
    EXPECT_NE(ev[ev.size() - 2].find("\"error\""), std::string::npos) << "the cancelled stream says why";
    auto c = srv.client();
    c->set_connection_timeout(1, 0);
    EXPECT_FALSE(c->Get("/health")) << "no longer accepting";
}
