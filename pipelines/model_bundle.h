// ModelBundle: a checkpoint directory turned into the parts a pipeline needs — the whole config.json,
// which family it is, the language model's LmConfig and tensor names, the mmap'd weights and the
// tokenizer. Other parts of a Janus checkpoint (SigLIP `vision_config`, `gen_vision_config`, aligners,
// gen head) are reached through the same bundle: `sub_config(key)` for their config objects and
// `lookup()` / `checkpoint` for their tensors (see facts §1.1, §2.2, §2.4 for the names).
//
// Recognised layouts:
//   LlamaForCausalLM / model_type llama       body "model.",                head "lm_head.weight"
//   Qwen2ForCausalLM / model_type qwen2       body "model.",                head "lm_head.weight"
//   MultiModalityCausalLM (official Janus)    body "language_model.model.", head "language_model.lm_head.weight"
//                                             LM config: config["language_config"] (Llama defaults, §1.2)
//   JanusForConditionalGeneration (HF port)   body "model.language_model.", head "lm_head.weight"
//                                             LM config: config["text_config"] (§2.4)
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "janus/text.h"
#include "janus/tokenizer.h"
#include "kernels/backend.h"
#include "kernels/io/checkpoint.h"
#include "text/llama_model.h"

namespace janus {

enum class ModelFamily : uint8_t { llama, qwen2, janus, janus_hf };
const char* model_family_name(ModelFamily f);  // "llama", "qwen2", "janus", "janus-hf"

struct ModelBundle {
    std::string dir;                           // the model directory
    nlohmann::json config;                     // config.json as read
    ModelFamily family = ModelFamily::llama;
    std::string architecture;                  // architectures[0] (or model_type when absent)
    LmConfig lm;
    LmTensorNames lm_names;
    std::shared_ptr<io::Checkpoint> checkpoint;
    std::shared_ptr<Tokenizer> tokenizer;      // null when the directory has no tokenizer.json

    bool is_janus() const { return family == ModelFamily::janus || family == ModelFamily::janus_hf; }
    // Sub-config object by key (e.g. "vision_config"); throws janus::Error naming the key when absent.
    const nlohmann::json& sub_config(const std::string& key) const;
    // name → tensor over the checkpoint (undefined Tensor when absent).
    TensorLookup lookup() const;
    // Tensor by name, or janus::Error naming the checkpoint and the tensor.
    Tensor tensor(const std::string& name) const;
};

struct BundleOptions {
    bool load_tokenizer = true;
    bool require_tokenizer = false;            // throw when tokenizer.json is missing
};

// Reads config.json, detects the family, opens the weights (mmap) and the tokenizer. Throws
// janus::Error naming the directory/file and the problem (unknown architecture → the supported list).
ModelBundle open_model_bundle(const std::string& dir, const BundleOptions& options = {});

// Config-only detection (no weights): family, architecture and LmConfig from a parsed config.json.
void detect_family(const nlohmann::json& config, const std::string& source, ModelFamily* family,
                   std::string* architecture, LmConfig* lm, LmTensorNames* names);

// Builds the language model of a bundle on `backend` (weights used in place when the backend can).
std::unique_ptr<LlamaModel> build_language_model(const ModelBundle& bundle, Backend& backend,
                                                 const LmRunOptions& options);

}  // namespace janus
