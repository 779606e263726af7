// ChatSession with the non-Janus tokenizers and chat formats: a tiny random LlamaForCausalLM whose
// vocabulary matches a real tokenizer (Qwen3 → ChatML, DeepSeek-V3 → DeepSeek chat; and the R1
// format forced with --chat-format) is written to a temporary model directory next to that
// tokenizer, then driven exactly as `janus chat` drives it: format detection, BOS handling, stop
// ids, streaming through the StreamDecoder, prefix reuse on the second turn, thinking state.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "janus/chat.h"
#include "janus/tokenizer.h"
#include "text/synthetic.h"

using namespace janus;
namespace fs = std::filesystem;

namespace {
const std::string kData = JANUS_TEST_DATA;

std::string gunzip(const std::string& path) {
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz) throw Error(path + ": cannot open");
    std::string out;
    char buf[1 << 16];
    int n;
    while ((n = gzread(gz, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
    gzclose(gz);
    return out;
}

// Model dir: tokenizer files of tests/data/tokenizers/<name> + tiny random weights sized to it.
std::string make_model_dir(const std::string& name) {
    const std::string src = kData + "/tokenizers/" + name;
    // Unique per test and process: ctest -j runs two tests that use the same tokenizer concurrently.
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string dir = (fs::temp_directory_path() / ("janus_chat_family_" + name + "_" + info->name() + "_" +
                                                          std::to_string(::getpid())))
                                .string();
    fs::create_directories(dir);
    std::ofstream(dir + "/tokenizer.json") << gunzip(src + "/tokenizer.json.gz");
    fs::copy_file(src + "/tokenizer_config.json", dir + "/tokenizer_config.json", fs::copy_options::overwrite_existing);
    Tokenizer tok = Tokenizer::load(dir);
    LmConfig c = synthetic_lm_config("tiny");
    c.vocab_size = tok.vocab_size();
    c.hidden = 32;
    c.intermediate = 64;
    c.heads = c.kv_heads = 2;
    c.head_dim = 16;
    write_synthetic_checkpoint(c, DType::bf16, dir, 3, 2);
    return dir;
}

void exercise(const std::string& tokenizer, const std::string& format, const std::string& expect_format,
              bool expect_thinking) {
    std::string dir = make_model_dir(tokenizer);
    ChatOptions o;
    o.model = dir;
    o.device = "cpu";
    o.ctx = 256;
    o.max_tokens = 6;
    o.chat_format = format;
    auto chat = ChatSession::open(o);
    EXPECT_EQ(chat->format_name(), expect_format);
    EXPECT_EQ(chat->reply_starts_thinking(), expect_thinking);
    std::string streamed;
    ReplyStats s1, s2;
    std::string r1 = chat->send("Hello, who are you?", [&](const std::string& p) { streamed += p; }, {}, &s1);
    EXPECT_EQ(streamed, r1);
    EXPECT_GT(s1.prompt_tokens, 5);
    EXPECT_GT(s1.generated_tokens, 0);
    chat->send("Tell me more.", {}, {}, &s2);
    EXPECT_GT(s2.cached_tokens, 0) << "the second turn should reuse the first turn's prefix";
    EXPECT_GT(s2.prompt_tokens, s1.prompt_tokens);
    fs::remove_all(dir);
}
}  // namespace

TEST(ChatFamilies, Qwen3TokenizerDetectsChatML) { exercise("qwen3", "", "chatml", false); }
TEST(ChatFamilies, DeepSeekV3Tokenizer) { exercise("deepseek_v3", "", "deepseek-v3", false); }
TEST(ChatFamilies, ForcedR1FormatOpensThinking) { exercise("deepseek_v3", "deepseek-r1", "deepseek-r1", true); }
