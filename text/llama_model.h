// LlamaModel: the Llama-family decoder (LlamaForCausalLM, Qwen2ForCausalLM, Janus' language model)
// run step-wise over a batch of sequence chunks through the Backend op table only (no SIMD, no CUDA
// here), so the same code runs on every backend.
//
// One forward() call takes R chunks. Chunk i = (KV slot, start position, n tokens given either as ids
// or as ready-made embeddings [n, hidden] f32). All chunks' tokens are stacked into one activation
// matrix x[T, hidden] (T = Σ n) so every weight is read once per step (GEMM), attention runs per
// chunk against its slot of the KV cache. Returned: the final-RMSNormed hidden states of the
// requested positions h[R_out, hidden] and, when asked, LM-head logits [R_out, vocab] (f32).
//
// Callers: text generation (text/generator.h), image understanding (SigLIP embeddings spliced into
// a prefill), image generation (gen_aligner(gen_embed(code)) rows, its own gen_head on `hidden`).
//
// Threading: one forward() at a time per LlamaModel (it owns the activation workspace); a server
// runs all its sequences through one Generator/forward loop instead (continuous batching).
//
// Numerics: compute f32, or bf16 emulation (activations rounded to bf16 at every module boundary as
// torch does in a bf16 model, RMSNorm cast-before-weight (facts §6.1), bf16 cos/sin, bf16 matmul
// inputs with f32 accumulation). RoPE inv_freq bf16-rounded by default in bf16 mode (facts §6.1).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "janus/text.h"
#include "kernels/backend.h"
#include "kernels/tensor_lookup.h"
#include "text/kv_cache.h"
#include "text/lm_config.h"

namespace janus {


// Where the decoder's tensors live inside a checkpoint.
struct LmTensorNames {
    std::string body = "model.";       // + "embed_tokens.weight", "layers.N....", "norm.weight"
    std::string lm_head = "lm_head.weight";
    // Janus official (facts §2.2): body "language_model.model.", head "language_model.lm_head.weight".
    // Janus transformers-converted (facts §2.4): body "model.language_model.", head "lm_head.weight".
};

struct LayerWeights {
    Tensor attn_norm;                  // [hidden]
    Tensor wq, wk, wv, wo;             // [q_dim, hidden], [kv_dim, hidden] ×2, [hidden, q_dim]
    Tensor bq, bk, bv, bo;             // optional biases
    Tensor mlp_norm;                   // [hidden]
    Tensor w_gate, w_up, w_down;       // [ffn, hidden] ×2, [hidden, ffn]
    Tensor b_gate, b_up, b_down;       // optional (Llama mlp_bias)
};

struct LmWeights {
    Tensor embed;                      // [vocab, hidden]
    std::vector<LayerWeights> layers;
    Tensor final_norm;                 // [hidden]
    Tensor lm_head;                    // [vocab, hidden] (the embedding table when tied)
    size_t bytes() const;              // distinct bytes (a tied head counts once)
    DType dtype() const { return layers.empty() ? embed.dtype() : layers[0].wq.dtype(); }
};

// Reads and shape-checks every decoder tensor; errors list all missing/mis-shaped names.
LmWeights load_lm_weights(const LmConfig& cfg, const TensorLookup& find, const LmTensorNames& names,
                          Backend& backend, const std::string& source);

enum class OutputRows : uint8_t { none, last, all };

struct SeqChunk {
    int slot = 0;
    int64_t start = 0;                 // position of the first token; the slot's cache is cut to start
    std::span<const int32_t> tokens;   // either ids ...
    Tensor embeds;                     // ... or [n, hidden] f32 embeddings (host or backend memory)
    OutputRows output = OutputRows::last;
    int64_t size() const { return embeds.defined() ? embeds.dim(0) : int64_t(tokens.size()); }
};

struct StepOutputs {
    Tensor hidden;                     // [R_out, hidden] f32 on the backend, final-normed
    Tensor logits;                     // [R_out, vocab] f32 on the backend (when requested)
    std::vector<int64_t> first;        // chunk i's first output row (−1 when it has none)
    std::vector<int64_t> count;        // chunk i's number of output rows
};

struct LmRunOptions {
    ComputeDType dtype = ComputeDType::auto_;
    bool rope_exact = false;           // bf16 mode: keep f32 inv_freq instead of bf16-rounded
    // Record each step's device work as one graph and replay it (Backend::begin_capture; CUDA graphs).
    // Off by default until verified on a GPU; backends without graphs ignore it.
    bool step_graphs = false;
};

// Optional per-op timing (synchronizes after each op group; for benchmarks only).
struct OpProfile {
    std::map<std::string, double> seconds;
    int steps = 0;
};

class LlamaModel {
public:
    LlamaModel(Backend& backend, LmConfig cfg, LmWeights weights, LmRunOptions options = {});

    const LmConfig& config() const { return cfg_; }
    const LmWeights& weights() const { return w_; }
    Backend& backend() const { return *backend_; }
    bool bf16() const { return bf16_; }
    // The KV dtype that matches the compute precision (bf16 compute → bf16 cache, else f32).
    DType default_kv_dtype() const { return bf16_ ? DType::bf16 : DType::f32; }
    const std::vector<float>& inv_freq() const { return inv_freq_host_; }

    // Runs one step. Outputs live in the model's workspace and are overwritten by the next call.
    // Sets each chunk's slot length to start + n. Throws janus::Error on context overflow, a slot
    // used twice, a start beyond the slot's length, bad ids or embedding shapes.
    StepOutputs forward(std::span<const SeqChunk> chunks, KvCache& cache, bool want_logits = true);

    void set_profile(OpProfile* p) { profile_ = p; }

    // Embeds ids with the model's table: out [n, hidden] f32 (bf16-rounded in bf16 mode).
    void embed(const Tensor& out, const Tensor& ids);

private:
    Tensor ws(const char* name, DType dt, int64_t rows, int64_t cols);
    void round(const Tensor& t);
    void tick(const char* what);
    void linear(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b);
    void linear_residual(const Tensor& x, const Tensor& in, const Tensor& w, const Tensor& b,
                         const Tensor& tmp);

    Backend* backend_;
    LmConfig cfg_;
    LmWeights w_;
    LmRunOptions options_;
    bool bf16_ = false;
    MatmulPrecision prec_ = MatmulPrecision::f32;
    std::vector<float> inv_freq_host_;
    Tensor inv_freq_;                  // [head_dim/2] f32 on the backend
    std::map<std::string, Tensor> workspace_;
    OpProfile* profile_ = nullptr;
    std::chrono::steady_clock::time_point t0_;
};

}  // namespace janus
