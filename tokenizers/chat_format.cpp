// janus::ChatFormat (include/janus/chat_format.h): renders chat messages into the prompt text each
// model family was trained on, picks the family from the checkpoint's tokenizer files, and encodes
// with BOS exactly once. Formats follow the reference templates:
//   janus        facts §3.4 (DeepSeek-VL "deepseek" SFT format, roles <|User|>/<|Assistant|>)
//   deepseek     DeepSeek-LLM chat: BOS, "User: ...\n\n", "Assistant: ...<eos>", "Assistant:"
//   deepseek-v3  BOS + system + "<｜User｜>..." + "<｜Assistant｜>...<eos>"; deepseek-r1 also drops the
//                reasoning before "</think>" in past answers and opens "<think>\n" for the new one
//   llama3       <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
//   chatml       <|im_start|>role\ncontent<|im_end|>\n (Qwen2 adds a default system prompt)
#include <algorithm>

#include "janus/chat_format.h"
#include "janus/error.h"

namespace janus {

namespace {

const char* kJanusSystem =
    "You are a helpful language and vision assistant. You are able to understand the visual content that "
    "the user provides, and assist the user with a variety of tasks using natural language.";
const char* kEos = "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>";    // <｜end▁of▁sentence｜>
const char* kBos = "<\xEF\xBD\x9C" "begin\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>";  // <｜begin▁of▁sentence｜>
const char* kFwUser = "<\xEF\xBD\x9CUser\xEF\xBD\x9C>";            // <｜User｜>
const char* kFwAssistant = "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>";  // <｜Assistant｜>

struct NameEntry {
    const char* name;
    ChatStyle style;
};
const NameEntry kNames[] = {
    {"janus", ChatStyle::Janus},           {"deepseek-vl", ChatStyle::Janus},
    {"deepseek", ChatStyle::DeepSeekLLM},  {"deepseek-llm", ChatStyle::DeepSeekLLM},
    {"deepseek-r1", ChatStyle::DeepSeekR1}, {"deepseek-v3", ChatStyle::DeepSeekV3},
    {"llama3", ChatStyle::Llama3},         {"chatml", ChatStyle::ChatML},
    {"qwen2", ChatStyle::ChatML},
};

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Python str.strip() for the whitespace that occurs in prompts (ASCII whitespace).
std::string strip(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && is_space(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && is_space(static_cast<unsigned char>(s[e - 1]))) --e;
    return std::string(s.substr(b, e - b));
}

bool has(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

}  // namespace

ChatFormat::ChatFormat(ChatStyle s) : style_(s) {
    switch (s) {
        case ChatStyle::Janus: default_system = kJanusSystem; break;
        default: break;
    }
    encode_adds_special_ = s == ChatStyle::Janus || s == ChatStyle::ChatML;
}

std::vector<std::string> ChatFormat::names() {
    std::vector<std::string> v;
    for (auto& e : kNames) v.push_back(e.name);
    return v;
}

ChatFormat ChatFormat::by_name(std::string_view name) {
    for (auto& e : kNames) {
        if (name == e.name) {
            ChatFormat f(e.style);
            if (name == "qwen2") f.default_system = "You are a helpful assistant.";
            return f;
        }
    }
    std::string list;
    for (auto& e : kNames) list += std::string(list.empty() ? "" : ", ") + e.name;
    throw Error("chat format \"" + std::string(name) + "\" is unknown; use one of: " + list);
}

std::string ChatFormat::name() const {
    switch (style_) {
        case ChatStyle::Janus: return "janus";
        case ChatStyle::DeepSeekLLM: return "deepseek";
        case ChatStyle::DeepSeekR1: return "deepseek-r1";
        case ChatStyle::DeepSeekV3: return "deepseek-v3";
        case ChatStyle::Llama3: return "llama3";
        case ChatStyle::ChatML: return "chatml";
    }
    return "?";
}

ChatFormat ChatFormat::detect(const Tokenizer& tok) {
    const std::string& t = tok.chat_template();
    if (!t.empty()) {
        if (has(t, "<|im_start|>")) {
            ChatFormat f(ChatStyle::ChatML);
            const char* qwen25 = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
            if (has(t, qwen25)) f.default_system = qwen25;
            else if (has(t, "You are a helpful assistant.")) f.default_system = "You are a helpful assistant.";
            return f;
        }
        if (has(t, "<|start_header_id|>")) return ChatFormat(ChatStyle::Llama3);
        if (has(t, kFwUser)) return ChatFormat(has(t, "</think>") || has(t, "<think>") ? ChatStyle::DeepSeekR1 : ChatStyle::DeepSeekV3);
        if (has(t, "<|User|>")) return ChatFormat(ChatStyle::Janus);
        if (has(t, "User: ") && has(t, "Assistant:")) return ChatFormat(ChatStyle::DeepSeekLLM);
    }
    // No (recognised) template: decide from the special tokens and config.json.
    auto arch_has = [&](std::string_view a) {
        return std::any_of(tok.architectures().begin(), tok.architectures().end(), [&](auto& x) { return x == a; });
    };
    if (arch_has("MultiModalityCausalLM") || tok.model_type() == "multi_modality" || tok.model_type() == "janus" ||
        tok.token_to_id("<|User|>") || tok.token_to_id("<begin_of_image>"))
        return ChatFormat(ChatStyle::Janus);
    if (tok.token_to_id("<|im_start|>")) return ChatFormat(ChatStyle::ChatML);
    if (tok.token_to_id("<|start_header_id|>")) return ChatFormat(ChatStyle::Llama3);
    if (tok.token_to_id(kFwUser)) return ChatFormat(ChatStyle::DeepSeekV3);
    if (tok.bos_token() == kBos) return ChatFormat(ChatStyle::DeepSeekLLM);
    throw Error(tok.source() + ": cannot tell which chat format this model uses (no chat_template and no "
                "known role tokens); choose one with --chat-format (janus, deepseek, deepseek-r1, deepseek-v3, "
                "llama3, chatml)");
}

std::string ChatFormat::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
    std::string system;
    bool have_system = false;
    std::vector<const ChatMessage*> turns;
    for (auto& m : messages) {
        if (m.role == "system") {
            if (!turns.empty()) throw Error("chat: a system message must come before the conversation turns");
            system += (have_system ? "\n\n" : "") + m.content;
            have_system = true;
        } else if (m.role == "user" || m.role == "assistant") {
            turns.push_back(&m);
        } else {
            throw Error("chat: unknown message role \"" + m.role + "\" (use system, user or assistant)");
        }
    }
    if (!have_system) system = default_system;
    std::string out;
    switch (style_) {
        case ChatStyle::Janus: {  // facts §3.4
            if (!system.empty()) out += system + "\n\n";
            size_t i = 0;
            for (auto* m : turns) {
                std::string role = m->role == "user" ? "<|User|>" : "<|Assistant|>";
                std::string c = strip(m->content);
                if (!c.empty()) out += role + ": " + c + (i % 2 == 0 ? "\n\n" : kEos);
                else out += role + ":";
                ++i;
            }
            if (add_generation_prompt) out += "<|Assistant|>:";
            return strip(out);
        }
        case ChatStyle::DeepSeekLLM: {
            out += kBos;
            if (!system.empty()) out += system + "\n\n";
            for (auto* m : turns) {
                if (m->role == "user") out += "User: " + m->content + "\n\n";
                else out += "Assistant: " + m->content + kEos;
            }
            if (add_generation_prompt) out += "Assistant:";
            return out;
        }
        case ChatStyle::DeepSeekR1:
        case ChatStyle::DeepSeekV3: {
            out += kBos;
            out += system;
            for (auto* m : turns) {
                if (m->role == "user") {
                    out += kFwUser + m->content;
                } else {
                    std::string c = m->content;
                    if (style_ == ChatStyle::DeepSeekR1) {
                        auto p = c.rfind("</think>");
                        if (p != std::string::npos) c = c.substr(p + 8);
                    }
                    out += kFwAssistant + c + kEos;
                }
            }
            if (add_generation_prompt) {
                out += kFwAssistant;
                if (style_ == ChatStyle::DeepSeekR1) out += "<think>\n";
            }
            return out;
        }
        case ChatStyle::Llama3: {
            out += "<|begin_of_text|>";
            auto turn = [&](const std::string& role, const std::string& content) {
                out += "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + strip(content) + "<|eot_id|>";
            };
            if (!system.empty()) turn("system", system);
            for (auto* m : turns) turn(m->role, m->content);
            if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
            return out;
        }
        case ChatStyle::ChatML: {
            if (!system.empty()) out += "<|im_start|>system\n" + system + "<|im_end|>\n";
            for (auto* m : turns) out += "<|im_start|>" + m->role + "\n" + m->content + "<|im_end|>\n";
            if (add_generation_prompt) out += "<|im_start|>assistant\n";
            return out;
        }
    }
    return out;
}

std::vector<int32_t> ChatFormat::encode(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                                        bool add_generation_prompt) const {
    // Templates that spell BOS in the text are encoded without the post-processor's additions
    // (transformers' apply_chat_template does the same); Janus adds BOS at encode (facts §3.1).
    return tok.encode(render(messages, add_generation_prompt), encode_adds_special_);
}

std::string ChatFormat::janus_generation_prompt(std::string_view prompt) const {
    // facts §3.4: empty system prompt, then "<|User|>: {prompt}\n\n<|Assistant|>:" + "<begin_of_image>".
    std::string c = strip(prompt);
    std::string out = c.empty() ? "<|User|>:" : "<|User|>: " + c + "\n\n";
    out += "<|Assistant|>:";
    return strip(out) + "<begin_of_image>";
}

std::vector<int32_t> ChatFormat::stop_ids(const Tokenizer& tok) const {
    std::vector<int32_t> ids;
    auto add = [&](std::string_view s) {
        if (auto id = tok.token_to_id(s); id && std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
    };
    if (!tok.eos_token().empty()) add(tok.eos_token());
    switch (style_) {
        case ChatStyle::Janus:
        case ChatStyle::DeepSeekLLM:
        case ChatStyle::DeepSeekR1:
        case ChatStyle::DeepSeekV3: add(kEos); break;
        case ChatStyle::Llama3: add("<|eot_id|>"); add("<|end_of_text|>"); add("<|eom_id|>"); break;
        case ChatStyle::ChatML: add("<|im_end|>"); add("<|endoftext|>"); break;
    }
    return ids;
}

}  // namespace janus
