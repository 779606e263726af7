// ModelReport (pipelines: it reads checkpoints and uses the generation memory plan): what `janus info` knows about a checkpoint — files, architecture, per-part
// parameter/byte counts, missing/unexpected/mis-shaped tensors against the expected-name map
// (tensor_names.h), and a memory estimate: weights used by inference + KV cache for a chat context
// (+ for Janus text-to-image the generation memory plan the pipelines use). Rendered as text or JSON.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "janus/checkpoint.h"
#include "kernels/io/checkpoint.h"
#include "models/model_config.h"
#include "models/tensor_names.h"

namespace janus::info {

using models::ExpectedTensor;
using models::ModelConfig;
using models::NameScheme;

struct PartSummary {
    std::string part;         // "lm", "siglip", ...
    std::string description;  // "language model (Llama decoder)", ...
    int64_t tensors = 0, params = 0;
    uint64_t bytes = 0;
    std::map<std::string, int64_t> dtype_params;  // "bf16" -> params
    bool used = true;         // false when inference never reads it
};

struct ShapeMismatch {
    std::string name;
    std::vector<int64_t> expected, actual;
};

struct MemoryPlan {
    uint64_t weights_all = 0;    // every tensor in the files
    uint64_t weights_used = 0;   // tensors inference reads
    int64_t kv_elem_bytes = 2;
    int64_t kv_bytes_per_token = 0;  // one sequence, all layers, K+V
    int64_t chat_context = 0;
    uint64_t chat_kv = 0, chat_total = 0;
    // Janus only: the text-to-image plan of `janus generate --dry-run` (pipelines/generate_plan.cpp,
    // make_memory_plan) for `parallel` images, a 64-token prompt and the model's own image grid.
    int gen_parallel = 0, gen_rows = 0;
    int64_t gen_tokens = 0;                // prompt + image tokens per row
    uint64_t gen_kv = 0, gen_workspace = 0, vq_decode = 0, gen_total = 0;
};

struct ModelReport {
    std::string source;
    std::string format;                                      // safetensors | torch-zip
    std::vector<std::pair<std::string, uint64_t>> files;     // path, bytes
    std::optional<ModelConfig> config;                       // absent: no config.json
    std::string config_note;                                 // why there is no config
    NameScheme scheme = NameScheme::official;
    std::vector<PartSummary> parts;
    std::map<std::string, std::pair<int64_t, uint64_t>> dtypes;  // dtype -> params, bytes
    int64_t tensors = 0, params = 0;
    uint64_t bytes = 0;
    std::vector<ExpectedTensor> missing;                     // required and absent
    std::vector<ExpectedTensor> missing_optional;            // optional and absent
    std::vector<std::string> unexpected;
    std::vector<ShapeMismatch> mismatched;
    std::vector<std::string> dtype_inconsistent;             // tensors not in the majority float dtype
    MemoryPlan memory;
};

ModelReport inspect_model(const std::string& path, const InfoOptions& opt);
std::string report_text(const ModelReport& r, const InfoOptions& opt);
nlohmann::json report_json(const ModelReport& r);

}  // namespace janus::info
