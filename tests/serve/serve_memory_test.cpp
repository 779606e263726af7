// `janus serve` hands memory back after large requests (issue 26): a burst of large requests (2 MiB
// prompts, chunked and not, and chat requests whose images decode to ~48 MB each) on new connections
// must leave resident memory within 64 MiB of the warmed-up baseline. Unlike serve_load_test.cpp the
// test itself does not call malloc_trim: returning memory is the server's job. Under AddressSanitizer
// the live heap is measured instead (its quarantine keeps freed memory resident).
#include <atomic>
#include <fstream>
#include <thread>

#include "held_memory.h"
#include "raw_client.h"
#include "serve_fixture.h"

using namespace serve_test;

namespace {

int64_t held_bytes() { return serve_test::held_bytes(/*trim_first=*/false); }

// A 4096×4096 single-colour PNG: a small body that decodes to 48 MiB of RGB.
std::string big_flat_png() {
    janus::RgbImage img;
    img.width = img.height = 4096;
    img.pixels.assign(size_t(img.width) * img.height * 3, 200);
    std::string path = (std::filesystem::temp_directory_path() /
                        ("serve-mem-" + std::to_string(getpid()) + ".png"))
                           .string();
    janus::write_png(path, img);
    std::string bytes = read_bytes(path);
    std::filesystem::remove(path);
    return bytes;
}

}  // namespace

TEST(ServeMemory, LargeRequestBurstGivesMemoryBack) {
    auto o = tiny_options();
    o.max_body_bytes = 12 << 20;
    o.max_image_pixels = 17 << 20;
    o.max_request_pixels = 34 << 20;
    o.ctx = 2048;
    auto srv = Running::start(o);
    const std::string png = big_flat_png();
    const json vision = {
        {"messages",
         json::array({{{"role", "user"},
                       {"content", json::array({{{"type", "text"}, {"text", "what is this?"}},
                                                {{"type", "image_url"},
                                                 {"image_url", {{"url", "data:image/png;base64," + b64(png)}}}},
                                                {{"type", "image_url"},
                                                 {"image_url", {{"url", "data:image/png;base64," + b64(png)}}}}})}}})},
        {"max_tokens", 2}};
    std::string words;
    while (words.size() < (2u << 20)) words += "lorem ipsum dolor sit amet ";
    const std::string big_prompt = json{{"prompt", words}, {"max_tokens", 1}}.dump();

    auto one_of_each = [&](int k) {
        if (k == 0) {  // a vision request: two 4096² images, decoded and resized
            auto r = post(*srv.client(), "/v1/chat/completions", vision);
            return r ? r->status : -1;
        }
        // A 2 MiB prompt (refused for its length after the body was read and tokenized, or
        // answered): chunked on odd k, Content-Length on even k.
        RawConn c(srv.port);
        std::string req;
        if (k % 2) {
            req = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n";
            for (size_t i = 0; i < big_prompt.size(); i += 1 << 20) {
                std::string part = big_prompt.substr(i, 1 << 20);
                char hex[32];
                std::snprintf(hex, sizeof hex, "%zx\r\n", part.size());
                req += hex + part + "\r\n";
            }
            req += "0\r\n\r\n";
        } else {
            req = http_post("/v1/completions", big_prompt);
        }
        if (!c.send_all(req)) return -1;
        std::string data, body;
        int status = 0;
        return read_response(c, data, status, body, 120) ? status : -1;
    };
    // Warm-up: one of each kind, then the baseline.
    for (int k = 0; k < 3; ++k) ASSERT_GT(one_of_each(k), 0) << k;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const int64_t base = held_bytes();

    std::atomic<int> failures{0};
    for (int round = 0; round < 1; ++round) {
        std::vector<std::thread> burst;
        for (int t = 0; t < 6; ++t)
            burst.emplace_back([&, t] {
                int st = one_of_each(t % 3);
                if (st < 0 || st >= 500) failures++;
            });
        for (auto& th : burst) th.join();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const int64_t after = held_bytes();
    std::printf("[memory] %s %.1f MiB -> %.1f MiB after 6 large requests\n", kHeldName, base / 1048576.0,
                after / 1048576.0);
    EXPECT_EQ(failures.load(), 0);
    EXPECT_LT(after - base, int64_t(64) << 20) << "grew by " << (after - base) / 1048576.0 << " MiB";
    auto h = srv.client()->Get("/health");
    ASSERT_TRUE(h);
    EXPECT_EQ(json::parse(h->body)["running"], 0);
}
