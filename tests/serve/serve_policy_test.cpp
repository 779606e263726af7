// `janus serve` request policy (issue 26): images per request and pixels per request refused from
// the image headers before decoding, escaped request logs, 405 for wrong methods, errors naming the
// parameter (negative_prompt), image urls from --public-url (never Host) signed and expiring so a
// page's <img> can show them without the API key; HMAC-SHA256 against RFC 4231 vectors.
#include <chrono>
#include <mutex>
#include <thread>

#include "pipelines/serve_sign.h"
#include "serve_fixture.h"

using namespace serve_test;

namespace {

json chat_with_images(const std::vector<std::string>& pngs) {
    json content = json::array({{{"type", "text"}, {"text", "what is this?"}}});
    for (const auto& p : pngs)
        content.push_back({{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64," + b64(p)}}}});
    return {{"messages", json::array({{{"role", "user"}, {"content", content}}})}, {"max_tokens", 2}};
}

// A PNG signature and IHDR saying w×h, followed by garbage: anything that decodes it fails.
std::string png_header_only(uint32_t w, uint32_t h) {
    std::string s = "\x89PNG\r\n\x1a\n";
    s += std::string("\0\0\0\x0dIHDR", 8);
    for (uint32_t v : {w, h})
        for (int k = 3; k >= 0; --k) s += char((v >> (8 * k)) & 0xFF);
    s += std::string("\x08\x02\0\0\0", 5);
    s += "CRC!";
    s += std::string(200, '\x5a');
    return s;
}

std::string hex_of(const std::string& raw) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char ch : raw) {
        out += hex[ch >> 4];
        out += hex[ch & 15];
    }
    return out;
}

}  // namespace

TEST(ServePolicy, HmacSha256MatchesRfc4231) {
    EXPECT_EQ(hex_of(janus::serve::sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(janus::serve::hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    EXPECT_EQ(janus::serve::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // Case 6: a key longer than the block size is hashed first.
    EXPECT_EQ(janus::serve::hmac_sha256_hex(std::string(131, '\xaa'),
                                            "Test Using Larger Than Block-Size Key - Hash Key First"),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(ServePolicy, ImageCountAndPixelBudgetCheckedFromHeaders) {
    auto o = tiny_options();
    o.max_input_images = 2;
    o.max_request_pixels = 5000;
    o.max_body_bytes = 8 << 20;
    auto srv = Running::start(o);
    auto c = srv.client();
    const std::string small = png_bytes(20, 20);
    auto ok = post(*c, "/v1/chat/completions", chat_with_images({small, small}));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << ok->body;

    auto three = post(*c, "/v1/chat/completions", chat_with_images({small, small, small}));
    expect_error(three, 400, "three images");
    json e = json::parse(three->body)["error"];
    EXPECT_EQ(e["code"], "too_many_images");
    EXPECT_EQ(e["param"], "messages[0].content[3].image_url");
    EXPECT_NE(e["message"].get<std::string>().find("--max-input-images"), std::string::npos);

    // 60×60 = 3600 each: one fits the 5000-pixel budget, two do not. The second carries garbage
    // after its header, so a decode would fail differently: the budget is checked first.
    auto two = post(*c, "/v1/chat/completions", chat_with_images({png_bytes(60, 60), png_header_only(60, 60)}));
    expect_error(two, 400, "pixel budget");
    e = json::parse(two->body)["error"];
    EXPECT_EQ(e["code"], "too_many_pixels") << e.dump();
    EXPECT_EQ(e["param"], "messages[0].content[2].image_url");
    // A single huge image is refused from its header (no 400 MB decode).
    auto huge = post(*c, "/v1/chat/completions", chat_with_images({png_header_only(20000, 20000)}));
    expect_error(huge, 400, "huge header");
    EXPECT_NE(huge->body.find("pixel limit"), std::string::npos) << huge->body;
}

TEST(ServePolicy, LogsEscapeControlCharacters) {
    auto o = tiny_options();
    auto lines = std::make_shared<std::vector<std::string>>();
    auto mu = std::make_shared<std::mutex>();
    o.log = [lines, mu](const std::string& s) {
        std::lock_guard<std::mutex> lk(*mu);
        lines->push_back(s);
    };
    auto srv = Running::start(o);
    auto c = srv.client();
    auto r = c->Get("/x%0aPOST%20/fake%20200%0d%1b[31mred%00end");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard<std::mutex> lk(*mu);
    bool found = false;
    for (const auto& l : *lines) {
        for (unsigned char ch : l) EXPECT_FALSE(ch < 0x20 || ch == 0x7f) << "raw control byte in log: " << l;
        if (l.find("\\x0aPOST /fake 200\\x0d\\x1b[31mred\\x00end") != std::string::npos) found = true;
    }
    EXPECT_TRUE(found) << "no escaped log line for the request";
}

TEST(ServePolicy, WrongMethodIs405AndErrorsNameTheirParameter) {
    auto srv = Running::start(tiny_options());
    auto c = srv.client();
    auto a = c->Post("/health", "{}", "application/json");
    expect_error(a, 405, "POST /health");
    EXPECT_EQ(a->get_header_value("Allow"), "GET, HEAD");
    auto b = c->Get("/v1/chat/completions");
    expect_error(b, 405, "GET chat");
    EXPECT_EQ(b->get_header_value("Allow"), "POST");
    auto d = c->Delete("/v1/images/generations");
    expect_error(d, 405, "DELETE images");
    expect_error(c->Get("/v1/unknown"), 404, "unknown path stays 404");

    std::string longneg;
    for (int i = 0; i < 600; ++i) longneg += "blurry ";
    auto n = post(*c, "/v1/images/generations", {{"prompt", "a cat"}, {"negative_prompt", longneg}});
    expect_error(n, 400, "long negative_prompt");
    EXPECT_EQ(json::parse(n->body)["error"]["param"], "negative_prompt") << n->body;
    std::string longpos;
    for (int i = 0; i < 600; ++i) longpos += "cat ";
    auto p = post(*c, "/v1/images/generations", {{"prompt", longpos}, {"negative_prompt", "blurry"}});
    expect_error(p, 400, "long prompt");
    EXPECT_EQ(json::parse(p->body)["error"]["param"], "prompt") << p->body;
    auto e = post(*c, "/v1/images/generations", {{"prompt", "a cat"}, {"negative_prompt", "   "}});
    expect_error(e, 400, "blank negative_prompt");
    EXPECT_EQ(json::parse(e->body)["error"]["param"], "negative_prompt") << e->body;
}

TEST(ServePolicy, ImageUrlsArePublicSignedAndExpire) {
    auto o = tiny_options();
    o.api_key = "k3y";
    o.public_url = "https://images.example.test/janus/";
    o.image_url_ttl = 1;
    auto srv = Running::start(o);
    auto c = srv.client("k3y");
    httplib::Headers evil = {{"Host", "evil.example"}};
    auto r = c->Post("/v1/images/generations", evil, json{{"prompt", "a fox"}, {"response_format", "url"}}.dump(),
                     "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const std::string url = json::parse(r->body)["data"][0]["url"];
    const std::string prefix = "https://images.example.test/janus";
    ASSERT_EQ(url.rfind(prefix + "/v1/images/files/", 0), 0u) << url;
    EXPECT_EQ(url.find("evil"), std::string::npos);
    const std::string path = url.substr(prefix.size());
    ASSERT_NE(path.find("sig="), std::string::npos);

    auto anon = srv.client();  // no key: what a browser's <img src> sends
    auto f = anon->Get(path.c_str());
    ASSERT_TRUE(f);
    ASSERT_EQ(f->status, 200) << f->body;
    EXPECT_EQ(f->get_header_value("Content-Type"), "image/png");
    std::string tampered = path;
    tampered.back() = tampered.back() == '0' ? '1' : '0';
    expect_error(anon->Get(tampered.c_str()), 403, "tampered signature");
    std::string later = path;
    size_t ex = later.find("expires=") + 8;
    later[ex + 1] = later[ex + 1] == '9' ? '8' : char(later[ex + 1] + 1);  // a later expiry, same sig
    expect_error(anon->Get(later.c_str()), 403, "changed expiry");
    expect_error(anon->Get(path.substr(0, path.find('?')).c_str()), 401, "unsigned without the key");
    auto keyed = c->Get(path.substr(0, path.find('?')).c_str());
    ASSERT_TRUE(keyed);
    EXPECT_EQ(keyed->status, 200) << "the API key still opens the file";

    std::this_thread::sleep_for(std::chrono::milliseconds(2200));  // past the 1 s ttl
    auto old = anon->Get(path.c_str());
    expect_error(old, 403, "expired");
    EXPECT_NE(old->body.find("expired"), std::string::npos) << old->body;
}

TEST(ServePolicy, ImageUrlsIgnoreHostWithoutPublicUrl) {
    auto srv = Running::start(tiny_options());
    auto c = srv.client();
    httplib::Headers evil = {{"Host", "evil.example:1"}};
    auto r = c->Post("/v1/images/generations", evil, json{{"prompt", "a fox"}, {"response_format", "url"}}.dump(),
                     "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const std::string url = json::parse(r->body)["data"][0]["url"];
    EXPECT_EQ(url.rfind("http://127.0.0.1:" + std::to_string(srv.port) + "/v1/images/files/", 0), 0u) << url;
}
