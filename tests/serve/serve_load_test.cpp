// `janus serve` bounded load: 32 clients × 20 requests each, mixed chat (plain and streamed),
// completions, vision, image generation and bad requests, all at once against one server. Checks:
// zero 5xx and zero transport failures, every 200 complete (parseable, streams end with [DONE],
// images decode to S×S), bad requests get 400, rows really shared forwards (several text rows in one
// forward; chat rows together with image rows; vision rows together with text rows), and resident
// memory back near the warmed-up baseline afterwards (under AddressSanitizer: the live heap instead,
// see held_bytes()).
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "held_memory.h"
#include "serve_fixture.h"

using namespace serve_test;

namespace {

int64_t held_bytes() { return serve_test::held_bytes(/*trim_first=*/true); }

}  // namespace

TEST(ServeLoad, ThirtyTwoClientsMixedRequests) {
    auto o = tiny_options();
    o.max_concurrent = 8;
    o.max_queue = 32;
    o.max_tokens = 12;
    auto srv = Running::start(o);
    const int S = json::parse(srv.client()->Get("/health")->body)["image_size"];
    const std::string size = std::to_string(S) + "x" + std::to_string(S);
    const std::string img_url = "data:image/png;base64," + b64(png_bytes(24, 24, 5));

    auto run_one = [&](httplib::Client& c, int kind, int seed, std::string* failure) -> int {
        httplib::Result r{nullptr, httplib::Error::Unknown};
        switch (kind) {
            case 0:
            case 1: {  // chat, plain or streamed
                json b = {{"messages", {{{"role", "user"}, {"content", "hello " + std::to_string(seed)}}}},
                          {"max_tokens", 8},
                          {"seed", seed},
                          {"stream", kind == 1}};
                r = post(c, "/v1/chat/completions", b);
                if (r && r->status == 200) {
                    if (kind == 1) {
                        auto ev = sse_events(r->body);
                        if (ev.empty() || ev.back() != "[DONE]") *failure = "stream without [DONE]";
                        for (size_t i = 0; i + 1 < ev.size(); ++i)
                            if (!json::accept(ev[i])) *failure = "bad SSE event: " + ev[i];
                    } else {
                        json j = json::parse(r->body, nullptr, false);
                        if (!j.is_object() || !j["choices"][0]["message"]["content"].is_string() ||
                            j["choices"][0]["finish_reason"].is_null())
                            *failure = "incomplete chat response: " + r->body;
                    }
                }
                break;
            }
            case 2: {  // completions
                r = post(c, "/v1/completions",
                         {{"prompt", "once " + std::to_string(seed)}, {"max_tokens", 6}, {"seed", seed}});
                if (r && r->status == 200 && !json::parse(r->body)["choices"][0]["text"].is_string())
                    *failure = "incomplete completion";
                break;
            }
            case 3: {  // image generation
                r = post(c, "/v1/images/generations",
                         {{"prompt", "cat " + std::to_string(seed)}, {"size", size}, {"seed", seed}});
                if (r && r->status == 200) {
                    json j = json::parse(r->body, nullptr, false);
                    std::string png = unb64(j["data"][0]["b64_json"].get<std::string>());
                    auto img =
                        janus::decode_image(reinterpret_cast<const uint8_t*>(png.data()), png.size(), "load");
                    if (img.width != S || img.height != S) *failure = "image of the wrong size";
                }
                break;
            }
            case 4: {  // vision
                json b = {{"messages",
                           json::array({{{"role", "user"},
                                         {"content", json::array({{{"type", "text"}, {"text", "what?"}},
                                                                  {{"type", "image_url"},
                                                                   {"image_url", {{"url", img_url}}}}})}}})},
                          {"max_tokens", 6}};
                r = post(c, "/v1/chat/completions", b);
                if (r && r->status == 200 &&
                    !json::parse(r->body)["choices"][0]["message"]["content"].is_string())
                    *failure = "incomplete vision answer";
                break;
            }
            default: {  // bad: malformed JSON / invalid base64 / wrong type
                if (seed % 3 == 0)
                    r = c.Post("/v1/chat/completions", "{\"messages\": [", "application/json");
                else if (seed % 3 == 1)
                    r = post(
                        c, "/v1/chat/completions",
                        {{"messages",
                          json::array(
                              {{{"role", "user"},
                                {"content",
                                 json::array({{{"type", "image_url"},
                                               {"image_url", {{"url", "data:image/png;base64,!!"}}}}})}}})}});
                else
                    r = post(c, "/v1/images/generations", {{"prompt", 7}});
                if (r && r->status != 400) *failure = "bad request answered " + std::to_string(r->status);
                if (!r)
                    *failure = "bad kind " + std::to_string(seed % 3) + ": no response (" +
                               httplib::to_string(r.error()) + ")";
                return r ? r->status : -1;
            }
        }
        if (!r)
            *failure =
                "kind " + std::to_string(kind) + ": no response (" + httplib::to_string(r.error()) + ")";
        return r ? r->status : -1;
    };

    // Warm-up: one of each kind, then the baseline.
    {
        auto c = srv.client();
        std::string f;
        for (int k = 0; k < 6; ++k) ASSERT_LT(run_one(*c, k, 1, &f), 500) << k;
        ASSERT_EQ(f, "");
    }
    const int64_t base = held_bytes();

    const int clients = 32, per_client = 20;
    std::atomic<int> ok{0}, bad400{0}, five{0}, transport{0}, other{0};
    std::mutex fm;
    std::vector<std::string> failures;
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t)
        threads.emplace_back([&, t] {
            auto c = srv.client();
            for (int i = 0; i < per_client; ++i) {
                int n = t * per_client + i;
                int kind = n % 10 < 3   ? 0
                           : n % 10 < 5 ? 1
                           : n % 10 < 6 ? 2
                           : n % 10 < 7 ? 3
                           : n % 10 < 8 ? 4
                                        : 5;
                std::string f;
                int st = run_one(*c, kind, n, &f);
                if (st < 0)
                    transport++;
                else if (st >= 500)
                    five++;
                else if (st == 200)
                    ok++;
                else if (st == 400)
                    bad400++;
                else
                    other++;
                if (!f.empty()) {
                    std::lock_guard<std::mutex> lk(fm);
                    failures.push_back(f);
                }
            }
        });
    for (auto& th : threads) th.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    json h = json::parse(srv.client()->Get("/health")->body);
    const int64_t after = held_bytes();
    std::printf(
        "[load] %d requests in %.1f s: %d ok, %d x 400, %d x 5xx, %d transport, %d other; "
        "max text rows/step %d, max vision rows/step %d, max images/step %d, max rows/step %d; "
        "%d forwards, %d mixed chat+image, %d vision+text; %s %.1f -> %.1f MiB\n",
        clients * per_client, secs, ok.load(), bad400.load(), five.load(), transport.load(), other.load(),
        h["max_text_rows_in_step"].get<int>(), h["max_vision_rows_in_step"].get<int>(),
        h["max_images_in_step"].get<int>(), h["max_rows_in_step"].get<int>(), h["steps"].get<int>(),
        h["mixed_steps"].get<int>(), h["vision_text_steps"].get<int>(), kHeldName, base / 1048576.0,
        after / 1048576.0);
    EXPECT_EQ(five.load(), 0);
    EXPECT_EQ(transport.load(), 0);
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(ok + bad400, clients * per_client);
    EXPECT_EQ(bad400.load(), clients * per_client * 2 / 10);
    for (size_t i = 0; i < failures.size() && i < 5; ++i) ADD_FAILURE() << failures[i];
    EXPECT_GT(h["max_text_rows_in_step"].get<int>(), 1) << "text rows never shared a step";
    EXPECT_GT(h["mixed_steps"].get<int>(), 0) << "chat and image rows never shared a forward";
    EXPECT_GT(h["vision_text_steps"].get<int>(), 0) << "vision and text rows never shared a forward";
    EXPECT_EQ(h["running"], 0);
    EXPECT_EQ(h["queued"], 0);
    EXPECT_LT(after - base, int64_t(64) << 20)
        << kHeldName << " grew by " << (after - base) / 1048576.0 << " MiB";
}
