// janus::ChatFormat — turns a list of chat messages into the prompt text (and ids) a model was
// trained on. Formats: Janus-Pro / DeepSeek-VL ("janus", facts §3.4), DeepSeek-LLM chat
// ("deepseek"), DeepSeek-R1/V3 ("deepseek-r1", "deepseek-v3"), Llama 3 ("llama3"), Qwen2 / ChatML
// ("chatml", alias "qwen2"). All special-token ids are looked up by string in the tokenizer.
//
//   auto fmt = janus::ChatFormat::detect(tok);             // from the checkpoint's files
//   auto fmt = janus::ChatFormat::by_name("llama3");       // or forced by a flag
//   std::vector<int32_t> ids = fmt.encode(tok, {{"user", "Hi"}}, /*add_generation_prompt=*/true);
//   std::string t2i = fmt.janus_generation_prompt("a red cat");  // ...<|Assistant|>:<begin_of_image>
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "janus/tokenizer.h"

namespace janus {

struct ChatMessage {
    std::string role;     // "system", "user" or "assistant"
    std::string content;  // for Janus understanding put "<image_placeholder>" where the image goes
};

enum class ChatStyle { Janus, DeepSeekLLM, DeepSeekR1, DeepSeekV3, Llama3, ChatML };

class ChatFormat {
public:
    // Chooses from the tokenizer's chat_template, its special tokens and config.json architectures.
    // Falls back to Janus when <|User|>/<begin_of_image> exist, else ChatML when <|im_start|>, ...
    static ChatFormat detect(const Tokenizer& tokenizer);
    // Names: janus, deepseek-vl, deepseek, deepseek-llm, deepseek-r1, deepseek-v3, llama3, chatml,
    // qwen2. Throws janus::Error listing the valid names otherwise.
    static ChatFormat by_name(std::string_view name);
    static std::vector<std::string> names();

    ChatStyle style() const { return style_; }
    std::string name() const;

    // Prompt text (without the BOS the tokenizer's post-processor adds, when it adds one; templates
    // that spell BOS in the text, like Llama 3's, include it). A system message, if any, must come
    // first; without one the format's default system prompt is used (Janus: the understanding
    // prompt of facts §3.4; ChatML/Qwen2: "You are a helpful assistant." when the template has it).
    std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
    // render() then tokenize the way the reference does (BOS exactly once).
    std::vector<int32_t> encode(const Tokenizer& tokenizer, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt) const;
    // Janus text-to-image prompt, facts §3.4/§5: "<|User|>: {prompt}\n\n<|Assistant|>:<begin_of_image>"
    // (empty system prompt). Encode with tokenizer.encode(text, true) to get [BOS] + tokens.
    std::string janus_generation_prompt(std::string_view prompt) const;
    // Ids that end an assistant turn (EOS, <|eot_id|>, <|im_end|>, ...) present in the tokenizer.
    std::vector<int32_t> stop_ids(const Tokenizer& tokenizer) const;

    // Default system prompt ("" = none). Settable, e.g. to disable Janus' for text-only chat.
    std::string default_system;

private:
    explicit ChatFormat(ChatStyle s);
    ChatStyle style_;
    bool encode_adds_special_ = true;  // whether encode() lets the post-processor add BOS
};

}  // namespace janus
