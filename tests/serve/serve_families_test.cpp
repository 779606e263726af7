// `janus serve` with other chat formats and model families: R1-style thinking returned as
// `reasoning_content` (checked against ChatSession's reply split by ThinkSplitter, non-stream and
// stream), and a text-only Llama checkpoint (chat works; image generation and image inputs → 400).
#include <filesystem>

#include "janus/chat.h"
#include "serve_fixture.h"

using namespace serve_test;
namespace fs = std::filesystem;

TEST(ServeFamilies, R1ThinkingIsReturnedAsReasoningContent) {
    auto o = tiny_options();
    o.chat_format = "deepseek-r1";
    auto srv = Running::start(o);
    auto c = srv.client();
    const std::string q = "Why is the sky blue?";
    json b = {{"messages", {{{"role", "user"}, {"content", q}}}}, {"temperature", 0}, {"max_tokens", 16}};
    auto r = post(*c, "/v1/chat/completions", b);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    json msg = json::parse(r->body)["choices"][0]["message"];

    janus::ChatOptions co;
    co.model = tiny_model();
    co.device = "cpu";
    co.dtype = "f32";
    co.chat_format = "deepseek-r1";
    co.max_tokens = 16;
    auto chat = janus::ChatSession::open(co);
    ASSERT_TRUE(chat->reply_starts_thinking());
    std::string reply = chat->send(q, {});
    janus::ThinkSplitter split(true);
    auto segs = split.push(reply);
    for (auto& s : split.finish()) segs.push_back(s);
    std::string reasoning, content;
    for (auto& s : segs) (s.thinking ? reasoning : content) += s.text;
    ASSERT_FALSE(reasoning.empty());
    EXPECT_EQ(msg.value("reasoning_content", ""), reasoning);
    EXPECT_EQ(msg["content"], content);

    b["stream"] = true;
    auto s = post(*c, "/v1/chat/completions", b);
    ASSERT_TRUE(s);
    std::string sr, sc;
    auto ev = sse_events(s->body);
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev.back(), "[DONE]");
    for (size_t i = 0; i + 1 < ev.size(); ++i) {
        json d = json::parse(ev[i])["choices"][0]["delta"];
        if (d.contains("reasoning_content")) sr += d["reasoning_content"].get<std::string>();
        if (d.contains("content")) sc += d["content"].get<std::string>();
    }
    EXPECT_EQ(sr, reasoning);
    EXPECT_EQ(sc, content);
}

TEST(ServeFamilies, TextOnlyModelRefusesImagesClearly) {
    // tiny-llama's weights (vocab 384) with tiny-janus' tokenizer (a smaller vocabulary).
    const fs::path dir = fs::temp_directory_path() / ("janus-serve-llama-" + std::to_string(getpid()));
    fs::create_directories(dir);
    const fs::path llama = fs::path(JANUS_TEST_DATA) / "models/tiny-llama/f32";
    for (const char* f : {"config.json", "model.safetensors"})
        fs::copy_file(llama / f, dir / f, fs::copy_options::overwrite_existing);
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
        fs::copy_file(fs::path(tiny_model()) / f, dir / f, fs::copy_options::overwrite_existing);
    auto o = tiny_options();
    o.model = dir.string();
    {
        auto srv = Running::start(o);
        auto c = srv.client();
        auto h = json::parse(c->Get("/health")->body);
        EXPECT_FALSE(h["vision"].get<bool>());
        EXPECT_FALSE(h["images"].get<bool>());
        auto r = post(*c, "/v1/chat/completions",
                      {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 4}});
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200) << r->body;
        auto g = post(*c, "/v1/images/generations", {{"prompt", "a cat"}});
        expect_error(g, 400, "images on a text model");
        EXPECT_EQ(json::parse(g->body)["error"]["code"], "images_not_supported");
        std::string url = "data:image/png;base64," + b64(png_bytes(8, 8));
        auto v = post(
            *c, "/v1/chat/completions",
            {{"messages",
              json::array(
                  {{{"role", "user"},
                    {"content", json::array({{{"type", "image_url"}, {"image_url", {{"url", url}}}}})}}})}});
        expect_error(v, 400, "image input on a text model");
        EXPECT_EQ(json::parse(v->body)["error"]["code"], "vision_not_supported");
    }
    fs::remove_all(dir);
}
