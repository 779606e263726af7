// Shared helpers of the `janus serve` tests: start an in-process janus::Server on a loopback port
// with the tiny Janus checkpoint, JSON over httplib::Client, an independent base64 codec, SSE parsing
// and PNG data URLs made with the library's PNG writer.
#pragma once
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "janus/server.h"
#include "janus/vision.h"

namespace serve_test {

using nlohmann::json;

inline std::string tiny_model() {
    return std::string(JANUS_TEST_DATA) + "/models/tiny-janus";
}

inline janus::ServerOptions tiny_options() {
    janus::ServerOptions o;
    o.model = tiny_model();
    o.port = 0;
    o.device = "cpu";
    o.threads = 1;
    o.dtype = "f32";
    o.max_tokens = 24;
    o.default_max_tokens = 16;
    o.ctx = 1024;
    o.max_body_bytes = 1 << 20;
    o.request_timeout = 60;
    o.shutdown_timeout = 5;
    o.output_dir =
        (std::filesystem::temp_directory_path() / ("janus-serve-test-" + std::to_string(getpid()))).string();
    return o;
}

// Independent of the server's codec: a plain table walk.
inline std::string b64(const std::string& in) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    int val = 0, bits = -6;
    for (unsigned char c : in) {
        val = (val << 8) + c;
        bits += 8;
        while (bits >= 0) {
            out.push_back(t[(val >> bits) & 0x3F]);
            bits -= 6;
        }
    }
    if (bits > -6) out.push_back(t[((val << 8) >> (bits + 8)) & 0x3F]);
    while (out.size() % 4) out.push_back('=');
    return out;
}
inline std::string unb64(const std::string& in) {
    std::string out;
    std::vector<int> T(256, -1);
    for (int i = 0; i < 64; i++) T["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i]] = i;
    int val = 0, bits = -8;
    for (unsigned char c : in) {
        if (T[c] == -1) break;
        val = (val << 6) + T[c];
        bits += 6;
        if (bits >= 0) {
            out.push_back(char((val >> bits) & 0xFF));
            bits -= 8;
        }
    }
    return out;
}

inline std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

// A w×h gradient image as PNG bytes (written with the library, read back).
inline std::string png_bytes(int w, int h, int seed = 0) {
    janus::RgbImage img;
    img.width = w;
    img.height = h;
    img.pixels.resize(size_t(w) * h * 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < 3; ++c)
                img.pixels[(size_t(y) * w + x) * 3 + c] = uint8_t((x * 7 + y * 3 + c * 50 + seed) & 255);
    std::string path = (std::filesystem::temp_directory_path() /
                        ("serve-test-" + std::to_string(getpid()) + "-" + std::to_string(seed) + ".png"))
                           .string();
    janus::write_png(path, img);
    std::string bytes = read_bytes(path);
    std::filesystem::remove(path);
    return bytes;
}
inline janus::RgbImage png_image(int w, int h, int seed = 0) {
    std::string b = png_bytes(w, h, seed);
    return janus::decode_image(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "test");
}

struct Running {
    std::unique_ptr<janus::Server> server;
    int port = 0;
    static Running start(const janus::ServerOptions& o) {
        Running r;
        r.server = janus::Server::create(o);
        r.port = r.server->start();
        return r;
    }
    std::unique_ptr<httplib::Client> client(const std::string& key = "") const {
        auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
        c->set_read_timeout(120, 0);
        c->set_write_timeout(30, 0);
        if (!key.empty()) c->set_bearer_token_auth(key.c_str());
        return c;
    }
};

inline httplib::Result post(httplib::Client& c, const std::string& path, const json& body) {
    return c.Post(path.c_str(), body.dump(), "application/json");
}

// The "data: ..." payloads of an SSE body, in order.
inline std::vector<std::string> sse_events(const std::string& body) {
    std::vector<std::string> out;
    size_t pos = 0;
    while ((pos = body.find("data: ", pos)) != std::string::npos) {
        size_t end = body.find("\n\n", pos);
        if (end == std::string::npos) end = body.size();
        out.push_back(body.substr(pos + 6, end - pos - 6));
        pos = end;
    }
    return out;
}

// Asserts an OpenAI error object with the given status.
inline void expect_error(const httplib::Result& r, int status, const std::string& what = "") {
    ASSERT_TRUE(r) << "no response (" << what << ")";
    EXPECT_EQ(r->status, status) << what << ": " << r->body;
    json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << what << ": body is not an error object: " << r->body;
    EXPECT_TRUE(j["error"]["message"].is_string()) << what;
    EXPECT_TRUE(j["error"]["type"].is_string()) << what;
}

}  // namespace serve_test
