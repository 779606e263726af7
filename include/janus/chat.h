// janus::ChatSession — multi-turn text chat with a Llama-family model directory (Janus-Pro's language
// model, DeepSeek-LLM, Llama 3.x, Qwen2 / DeepSeek-R1-Distill), streaming the reply text as it is
// generated. The conversation is re-rendered with the model's chat format every turn; the KV cache
// keeps the longest common prefix of the previous turn's tokens, so only the new text is prefilled.
//
//   janus::ChatOptions o;  o.model = "models/Janus-Pro-1B";
//   auto chat = janus::ChatSession::open(o);
//   chat->send("Hello!", [](const std::string& piece) { fputs(piece.c_str(), stdout); });
//
// Images (Janus checkpoints): attach_image() adds an image to the next user message; the message
// then holds one "<image_placeholder>" per image (facts §3.4), each expanded to BOI + N image
// embeddings + EOI (facts §4.2) by the same code as janus::Understander. Image positions are part of
// the cached prefix (keyed by the image, not just its placeholder ids), so a later turn prefills only
// its new text and new images.
//
//   chat->attach_image("cat.png");
//   chat->send("What is in this picture?", print);   // <|User|>: <image_placeholder>\nWhat is ...
//
// ThinkSplitter separates R1-style "<think>…</think>" reasoning from the answer in streamed text.
// Context overflow: a conversation longer than the context is refused with a janus::Error (nothing
// is truncated silently); a reply that fills the context stops with finish reason "context".
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "janus/chat_format.h"
#include "janus/text.h"
#include "janus/vision.h"

namespace janus {

struct ChatOptions {
    std::string model;                    // model directory (config.json, weights, tokenizer.json)
    std::string device = "auto";          // cpu | cuda | cuda:N | auto
    int threads = 0;                      // CPU threads (0 = physical cores)
    std::string dtype = "auto";           // compute precision: auto | f32 | bf16
    bool rope_exact = false;              // bf16: keep exact f32 RoPE frequencies
    int64_t ctx = 0;                      // context tokens (KV cache size); 0 = min(4096, model max)
    std::string chat_format;              // "" = detect from the checkpoint (ChatFormat::names())
    std::optional<std::string> system;    // system prompt; unset = the format's default ("" = none)
    SamplingParams sampling;              // default greedy
    int max_tokens = 1024;                // per reply
    std::vector<std::string> stop_strings;
    // Ids past the tokenizer's vocabulary (Janus: embedding rows 100.6K..102400, facts §1.2) are
    // never chosen unless this is set; set it to sample over every logit as the reference does.
    bool full_vocab = false;
};

struct ReplyStats {
    int64_t prompt_tokens = 0;            // tokens of the rendered conversation
    int64_t cached_tokens = 0;            // of those, reused from the previous turn's KV cache
    int64_t generated_tokens = 0;
    double prefill_seconds = 0;           // until the first reply token
    double decode_seconds = 0;            // the rest
    std::string finish_reason;            // stop | length | context | cancelled | stop_string
    std::vector<int32_t> tokens;          // generated ids (a final stop id included)
    int images = 0;                       // images in the conversation so far
    int64_t image_tokens = 0;             // of prompt_tokens, image embedding positions
    double vision_seconds = 0;            // SigLIP + aligner for this turn's new images (in prefill_seconds)
    double prefill_tok_s() const;
    double decode_tok_s() const;
};

class ChatSession {
public:
    static std::unique_ptr<ChatSession> open(const ChatOptions& options);
    ~ChatSession();

    // Adds a user message and generates the assistant's reply. on_text receives the reply text as it
    // becomes final (whole UTF-8 characters; thinking included). should_stop is polled every token
    // (return true to stop early: the partial reply is kept). Returns the full reply.
    std::string send(const std::string& user_message, const std::function<void(const std::string&)>& on_text,
                     const std::function<bool()>& should_stop = {}, ReplyStats* stats = nullptr);

    // Attaches an image to the next user message (several: in order). send() puts one
    // "<image_placeholder>\n" per attached image in front of the message unless the message already
    // holds exactly one marker per image. Throws janus::Error when the model has no image encoder
    // ("model X has no image encoder; --image needs a Janus checkpoint") or the file cannot be read
    // (the message names the file). The image is read now and encoded at the next send().
    void attach_image(const std::string& path);
    void attach_image(RgbImage image, const std::string& label = "");
    size_t pending_images() const;                 // attached and not yet sent
    bool has_image_encoder() const;                // a Janus checkpoint (SigLIP + aligner)

    void reset();                                  // forget the conversation and pending images (system prompt stays)
    // JSON: {"format", "model", "messages": [{role, content[, images: [paths]]}]}. Images attached from
    // memory (no path) cannot be saved. load() reads the image files again.
    void save(const std::string& path) const;
    void load(const std::string& path);
    const std::vector<ChatMessage>& messages() const;

    // True when the format opens a "<think>" block itself (DeepSeek-R1): the reply starts in thinking.
    bool reply_starts_thinking() const;
    std::string format_name() const;
    std::string description() const;               // model family, LM summary, dtype, device, ctx
    int64_t context_tokens() const;

private:
    struct Impl;
    explicit ChatSession(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Splits streamed text into thinking / answer segments on "<think>" and "</think>" tags (which may
// arrive split across pieces; the tags themselves are not returned).
class ThinkSplitter {
public:
    struct Segment {
        bool thinking;
        std::string text;
    };
    explicit ThinkSplitter(bool start_thinking = false) : thinking_(start_thinking) {}
    std::vector<Segment> push(const std::string& text);
    std::vector<Segment> finish();
    bool thinking() const { return thinking_; }

private:
    bool thinking_;
    std::string pending_;
};

}  // namespace janus
