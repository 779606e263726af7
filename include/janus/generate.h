// janus.cpp public API — Janus-Pro text-to-image generation (`janus generate`, the batch runner and
// the server's /v1/images/generations), facts §5.
//
//   janus::ImageGenOptions o;  o.model = "models/Janus-Pro-1B";
//   auto g = janus::ImageGenerator::open(o);
//   janus::ImageRequest r;  r.prompt = "a red fox in the snow";  r.n = 4;  r.seed = 7;
//   janus::GenerateResult res = g->generate(r);             // run to completion
//
// Or step-wise, several requests sharing each decode step (what the server and `janus batch` do):
//   int a = g->submit(r1), b = g->submit(r2);
//   while (!g->idle()) { g->step(); for (auto& img : g->take_finished()) use(img); }
//
// Per image: 2 rows (conditional prompt, unconditional = the prompt with positions 1..L−2 replaced by
// the pad id, or a negative prompt); guided logits = uncond + cfg·(cond − uncond) on the raw gen_head
// logits; one code per step fed back as gen_aligner(gen_embed(code)) to both rows; after
// n_image_tokens (576) steps the VQ-16 decoder turns the codes into a [S, S, 3] uint8 image (one image
// at a time). Image k of a request draws from its own sub-seed image_seed(seed, k), so it does not
// depend on the other images, the batch it shares a step with, or the thread count.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "janus/error.h"
#include "janus/vision.h"

namespace janus {

struct ImageGenOptions {
    std::string model;               // Janus / Janus-Pro checkpoint directory
    std::string device = "auto";     // cpu | cuda | cuda:N | auto
    int threads = 0;                 // CPU threads (0 = physical cores)
    std::string dtype = "auto";      // LM compute precision: auto | f32 | bf16 (VQ decode runs in f32)
    bool rope_exact = false;         // bf16: keep exact f32 RoPE frequencies
    int max_images = 16;             // step-wise API: images in flight per decode step (2 CFG rows each)
    int max_prompt_tokens = 256;     // step-wise API: longest prompt (KV capacity = this + n_image_tokens)
    int64_t memory_limit = 0;        // bytes the run may use; 0 = detect (see docs/generate.md)
};

// Sub-seed of image k: image_seed(s, 0) == s, so image k of a request with seed s equals image 0
// of a single-image request with seed image_seed(s, k).
uint64_t image_seed(uint64_t seed, int k);

struct ImageRequest {
    std::string prompt;
    std::optional<std::string> negative_prompt;  // unconditional rows from this prompt instead of pads
    int n = 1;                       // images (-n/--parallel)
    float cfg = 5.0f;                // guidance weight w (reference default 5)
    float temperature = 1.0f;        // reference default 1; <= 0 is greedy
    int top_k = 0;                   // 0 = off (reference)
    float top_p = 1.0f;              // 1 = off (reference)
    bool greedy = false;             // argmax of the guided logits (ties → lowest id)
    uint64_t seed = 0;
    int steps = 0;                   // 0 = all n_image_tokens; K < N stops after K codes (no decode)
    std::vector<int> only_images;    // when non-empty: produce only these image indices (resume)
    std::string dump_dir;            // generate() only: write the run's tensors as .npy (docs/generate.md)
    // Throws janus::Error naming the bad field.
    void validate() const;
};

struct GeneratedImage {
    int request = -1;                // submit() handle
    int index = 0;                   // image k of its request
    uint64_t seed = 0;               // its sub-seed, image_seed(request seed, k)
    std::vector<int32_t> codes;      // [steps] image codes (raster order)
    RgbImage image;                  // [S, S, 3]; empty when the request stopped early (steps < N)
    double generate_seconds = 0;     // from admission to its last code
    double decode_seconds = 0;       // VQ decode
};

struct GenerateResult {
    std::vector<GeneratedImage> images;  // in image order
    int64_t prompt_tokens = 0;       // L of the conditional rows
    int64_t uncond_tokens = 0;       // L of the unconditional rows
    int steps = 0;                   // codes per image
    double prefill_seconds = 0;      // first step (prompt rows)
    double generate_seconds = 0;     // all LLM steps
    double decode_seconds = 0;       // all VQ decodes
    int passes = 1;                  // > 1 when the memory plan split the images into several runs
};

// Memory needed by a request, computed before anything runs (`janus generate --dry-run`).
struct MemoryPlan {
    std::string model;               // directory or synthetic name
    int images = 0;                  // P
    int images_per_step = 0;         // images in flight at once (<= P; smaller when KV must be split)
    int passes = 0;                  // ceil(P / images_per_step)
    int64_t prompt_tokens = 0;       // L (longest row)
    int64_t image_tokens = 0;        // N
    int64_t kv_tokens_per_row = 0;   // L + N
    int64_t weight_bytes = 0;        // LM + gen_embed/gen_aligner/gen_head + VQ decoder (mmap'd, read)
    int64_t kv_bytes_per_token = 0;  // one row, one position, all layers (K and V)
    int64_t kv_bytes = 0;            // 2 · images_per_step rows · (L + N) positions
    int64_t kv_bytes_unsplit = 0;    // the same for all P images at once
    int64_t activation_bytes = 0;    // LM step workspace (prefill of all rows) + guided logits
    int64_t vq_bytes = 0;            // VQ decoder activations for one image
    int64_t total_bytes = 0;         // weights + kv + activations + vq
    int64_t limit_bytes = 0;         // what it had to fit in
    std::string kv_dtype;            // "bf16" | "f32"
    std::string to_text() const;     // a small table for --dry-run
    std::string to_json() const;
};

// Progress of generate(): called after every decode step.
struct GenerateProgress {
    int step = 0, total = 0;         // codes produced by the furthest image / codes per image
    int pass = 0, passes = 1;
    double tokens_per_second = 0;    // image tokens (all images in flight) per second
    double eta_seconds = 0;
};

struct StepReport {
    int images = 0;                  // images that advanced in this step
    int rows = 0;                    // LLM rows run (2 per image; shared prompt rows count once)
    int prefill_rows = 0;            // rows that read their prompt in this step
    int finished = 0;                // images that produced their last code
    double seconds = 0;
};

class ImageGenerator {
public:
    static std::unique_ptr<ImageGenerator> open(const ImageGenOptions& options);
    ~ImageGenerator();

    int image_size() const;          // pixels per side (384)
    int image_tokens() const;        // codes per image (576)
    int codebook_size() const;       // 16384
    std::string model_name() const;  // directory name of the checkpoint
    std::string description() const; // model, dims, dtype, device

    // Prompt ids exactly as fed: conditional row and unconditional row (facts §5.1, §5.2).
    std::vector<int32_t> prompt_ids(const std::string& prompt) const;
    std::vector<int32_t> uncond_ids(const ImageRequest& request) const;
    int32_t pad_id() const;

    MemoryPlan plan(const ImageRequest& request) const;

    // Run one request to completion: images split into passes when the plan says so, VQ decode one
    // image at a time, dumps when request.dump_dir is set.
    GenerateResult generate(const ImageRequest& request,
                            const std::function<void(const GenerateProgress&)>& on_progress = {});

    // ---- step-wise API (several requests share each decode step) ----
    // Sizes the step-wise engine (before the first submit(); throws afterwards): images in flight per
    // step (further capped by the memory plan) and the longest prompt the KV cache holds.
    void configure(int max_images, int max_prompt_tokens);
    // Queues the request's images; returns a handle. Throws janus::Error for a bad request or a prompt
    // longer than options.max_prompt_tokens.
    int submit(const ImageRequest& request);
    void cancel(int handle);         // drops its queued and in-flight images
    bool idle() const;               // nothing queued or in flight
    int in_flight() const;           // images currently holding KV rows
    // One batched LLM forward over all images in flight (admitting queued images into free rows).
    StepReport step();
    // Images whose codes are complete, VQ-decoded (one at a time) unless decode = false.
    std::vector<GeneratedImage> take_finished(bool decode = true);
    // Whether every image of `handle` has been returned by take_finished().
    bool request_done(int handle) const;

    // Decode image codes [N] to pixels (VQ-16, f32).
    RgbImage decode(const std::vector<int32_t>& codes);

    struct Impl;

private:
    explicit ImageGenerator(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// PNG text chunks written with each image: prompt, negative_prompt (when set), seed (the image's
// sub-seed), request_seed, image_index, cfg, temperature, top_k/top_p (when on), greedy, model,
// software ("janus.cpp <version>").
TextChunks image_text_chunks(const ImageRequest& request, const GeneratedImage& image, const std::string& model);
// write_png to path + ".tmp-<pid>" then rename: a reader never sees a partial file.
void write_png_atomic(const std::string& path, const RgbImage& image, const TextChunks& text = {});
// Where `janus generate -o OUTPUT` puts image k of n: OUTPUT ending in .png is a file name (n = 1:
// exactly it; n > 1: "<stem>-<k>.png"), anything else a directory ("<dir>/janus-<seed>-<k>.png").
// The contact sheet goes to "<stem>-sheet.png" / "<dir>/janus-<seed>-sheet.png".
std::string output_image_path(const std::string& output, uint64_t seed, int k, int n);
std::string output_sheet_path(const std::string& output, uint64_t seed);
// A grid of the images (columns = ceil(sqrt(n)), 4-pixel gaps), e.g. for --contact-sheet.
RgbImage contact_sheet(const std::vector<RgbImage>& images);

// Parses "20G", "512M", "1.5GiB", "123456" into bytes (K/M/G/T are powers of 1024); throws
// janus::Error naming `what`.
int64_t parse_size(const std::string& text, const std::string& what);

// ---- memory plan for a synthetic model shape (docs, `janus generate --dry-run --synthetic`) ----
// name: janus-pro-1b | janus-pro-7b. kv_dtype "bf16" | "f32". limit_bytes 0 = this machine.
MemoryPlan plan_synthetic(const std::string& name, int images, int64_t prompt_tokens,
                          const std::string& kv_dtype = "bf16", int64_t limit_bytes = 0);


}  // namespace janus
