// Public text-generation types: sampling parameters, compute-precision options and the
// `janus bench decode` entry point. Frontends (CLI, server) include this; the model code itself
// lives in text/ (LlamaModel, KvCache, Generator) and is driven through pipelines/.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "janus/error.h"

namespace janus {

// How the next token is chosen from a row of logits [vocab]. Applied in this order:
// penalties → temperature → top-k → softmax → min-p → top-p → draw. temperature <= 0 (or
// top_k == 1) is greedy argmax (ties: lowest id).
struct SamplingParams {
    float temperature = 0.0f;
    int top_k = 0;                  // 0 = off
    float top_p = 1.0f;             // 1 = off
    float min_p = 0.0f;             // 0 = off; keep p >= min_p · p_max
    float repetition_penalty = 1.0f;// HF style, over prompt + generated ids: logit>0 ? /r : ·r
    float presence_penalty = 0.0f;  // OpenAI style, over generated ids: −presence if seen
    float frequency_penalty = 0.0f; // OpenAI style, over generated ids: −frequency · count
    uint64_t seed = 0;              // same seed → same tokens (any thread count, any batch mix)
    bool greedy() const { return temperature <= 0.0f || top_k == 1; }
    // Throws janus::Error naming the bad field (e.g. top_p outside (0, 1]).
    void validate() const;
};

// Compute precision for a text model run.
enum class ComputeDType : uint8_t {
    auto_,  // bf16 when the checkpoint's LM weights are bf16, else f32
    f32,    // exact comparison runs
    bf16,   // round activations at module boundaries as torch bf16 does
};
// "f32" | "bf16" | "auto"; throws janus::Error for anything else.
ComputeDType compute_dtype_from_name(const std::string& name);

// ---- `janus bench decode` ------------------------------------------------------------------------
struct DecodeBenchOptions {
    std::string synthetic = "janus-pro-1b";  // model shapes: janus-pro-1b | janus-pro-7b | tiny
    std::string model;                       // a model directory instead of synthetic weights
    std::string dtype = "bf16";              // weight + compute dtype: bf16 | f32
    std::string device = "cpu";
    int threads = 0;                         // 0 = physical cores
    int tokens = 64;                         // decode steps measured per batch size
    int prefill_tokens = 512;
    int batch = 32;                          // the batched decode measurement (CFG batch of 16 images)
    uint64_t seed = 1;
};
struct DecodeBenchResult {
    std::string model, dtype, device;               // model: synthetic name or directory
    int threads = 0;
    double weight_bytes = 0, kv_bytes = 0;          // resident bytes of weights and of the KV cache
    double prefill_tok_s = 0;                       // prompt of prefill_tokens, batch 1
    double decode_tok_s_b1 = 0, decode_step_ms_b1 = 0;
    double decode_step_ms_bn = 0, decode_tok_s_bn = 0;  // batch `batch`
    int batch = 0;
    double bytes_per_step = 0;                      // weights read by one decode step (+ mean KV read)
    double achieved_gbps = 0;                       // bytes_per_step / decode_step_s (batch 1)
    double measured_bandwidth_gbps = 0;             // streaming read measured in the same run
    double bandwidth_fraction = 0;
    double peak_rss_bytes = 0;                      // VmHWM after the run
    double build_s = 0;                             // time to build the random weights / open the checkpoint
    double first_touch_s = 0;                       // real checkpoint: first pass over the weights (page faults)
    std::vector<std::pair<std::string, double>> breakdown_ms;  // per-op time of one b1 step (where known)
    std::string to_json() const;                    // one JSON object (keys as in the struct)
    std::string to_text() const;
};
DecodeBenchResult run_decode_benchmark(const DecodeBenchOptions& options);
// Writes random weights with a synthetic model's shapes as a LlamaForCausalLM checkpoint directory
// (config.json + model.safetensors) — to measure real checkpoint loading with `bench decode -m DIR`.
void write_synthetic_model(const std::string& synthetic, const std::string& dtype, const std::string& dir,
                           uint64_t seed = 1);

}  // namespace janus
