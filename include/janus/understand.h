// janus.cpp public API — image understanding with Janus / Janus-Pro (`janus caption`, `janus ask`).
//
//   janus::UnderstandOptions o;  o.model = "models/Janus-Pro-1B";
//   auto u = janus::Understander::open(o);
//   auto r = u->ask({janus::read_image("cat.jpg")}, "What is in this picture?",
//                   [](const std::string& piece) { fputs(piece.c_str(), stdout); });
//
// The prompt is the Janus SFT template with the default understanding system prompt (facts §3.4):
//   SYS\n\n<|User|>: <image_placeholder>\n{question}\n\n<|Assistant|>:
// one "<image_placeholder>\n" per image unless the question already holds exactly one placeholder per
// image. Each placeholder becomes BOI + n_image_tokens (576) embeddings + EOI (facts §4.2): the
// SigLIP features of that image passed through the aligner, spliced into the token embeddings; then
// greedy decoding (default; sampling as in `janus chat`) up to max_new_tokens (512, the reference's).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "janus/text.h"
#include "janus/vision.h"

namespace janus {

struct UnderstandOptions {
    std::string model;                  // Janus checkpoint directory (official or transformers layout)
    std::string device = "auto";        // cpu | cuda | cuda:N | auto
    int threads = 0;                    // CPU threads (0 = physical cores)
    std::string dtype = "auto";         // LM compute precision: auto | f32 | bf16 (vision runs in f32)
    bool rope_exact = false;            // bf16: keep exact f32 RoPE frequencies
    std::optional<std::string> system;  // system prompt; unset = Janus' default ("" = none)
    SamplingParams sampling;            // default greedy
    int max_new_tokens = 512;
    std::string dump_dir;               // when set: write the run's tensors as .npy (see docs/understand.md)
};

struct UnderstandResult {
    std::string text;                   // the answer (special tokens skipped)
    std::vector<int32_t> tokens;        // generated ids (including a final EOS when one was produced)
    int64_t prompt_tokens = 0;          // T, with each image expanded
    int images = 0;
    double vision_seconds = 0;          // preprocessing + SigLIP + aligner
    double prefill_seconds = 0;
    double decode_seconds = 0;
    std::string finish_reason;          // stop | length | context
};

class Understander {
public:
    static std::unique_ptr<Understander> open(const UnderstandOptions& options);
    ~Understander();

    // Answers `question` about `images` (in order). on_text receives the answer as it is generated.
    UnderstandResult ask(const std::vector<RgbImage>& images, const std::string& question,
                         const std::function<void(const std::string&)>& on_text = {});

    // Several rows at once, each with its own images and the same question (`janus caption` with
    // several images: one row per image). All rows share one forward per step. on_text(row, piece).
    std::vector<UnderstandResult> ask_batch(const std::vector<std::vector<RgbImage>>& images,
                                            const std::string& question,
                                            const std::function<void(size_t, const std::string&)>& on_text = {});

    int image_size() const;             // pixels per side the encoder sees (384)
    int image_tokens() const;           // embeddings per image (576)
    std::string description() const;    // model, dims, dtype, device

private:
    struct Impl;
    explicit Understander(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Default question of `janus caption`.
inline const char* default_caption_question() { return "Describe this image in detail."; }

}  // namespace janus
