// LmConfig: the hyper-parameters of a Llama-family decoder (LlamaForCausalLM, Qwen2ForCausalLM and
// the Janus language model) in the form the runtime uses. The config.json parsing itself, with
// transformers' defaults for absent keys (facts §1.2: Janus-Pro-7B's language_config spells out only
// a few keys), is models::parse_language_config (models/model_config.h), the single source of truth;
// LmConfig converts its result and rejects what this decoder cannot run.
//
// Shapes implied: embed [vocab, hidden]; q [heads·head_dim, hidden]; k/v [kv_heads·head_dim, hidden];
// o [hidden, heads·head_dim]; gate/up [intermediate, hidden]; down [hidden, intermediate].
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace janus::models {
struct LanguageConfig;
}

namespace janus {

struct RopeScaling {
    std::string type;                    // "" (none), "linear", "llama3"
    float factor = 1.0f;
    float low_freq_factor = 1.0f;        // llama3
    float high_freq_factor = 4.0f;       // llama3
    int64_t original_max_position = 8192;// llama3
};

struct LmConfig {
    std::string architecture;  // "LlamaForCausalLM" | "Qwen2ForCausalLM"
    int64_t vocab_size = 32000;
    int64_t hidden = 4096;
    int64_t intermediate = 11008;
    int64_t layers = 32;
    int64_t heads = 32;
    int64_t kv_heads = 32;
    int64_t head_dim = 128;
    int64_t max_position = 2048;
    float rms_eps = 1e-6f;
    float rope_theta = 10000.0f;
    RopeScaling rope_scaling;
    bool tie_embeddings = false;
    bool qkv_bias = false;   // Qwen2 always; Llama with attention_bias
    bool o_bias = false;     // Llama with attention_bias
    bool mlp_bias = false;   // Llama with mlp_bias
    std::string hidden_act = "silu";
    std::string torch_dtype; // as declared ("bfloat16", "float32", ... or "")
    std::vector<int32_t> eos_ids;  // eos_token_id as written in config.json (int or list); may be empty
    int32_t bos_id = -1;           // bos_token_id as written in config.json; -1 when absent

    // Parses one LM config object via models::parse_language_config. `arch` is the architecture to assume
    // ("LlamaForCausalLM" or "Qwen2ForCausalLM"); `source` names the file/key in errors. Throws
    // janus::Error on bad values and on settings this decoder does not support.
    static LmConfig from_json(const nlohmann::json& j, const std::string& arch, const std::string& source);
    // The runtime form of an already-parsed config (model_type "llama" or "qwen2"); same checks.
    static LmConfig from_language_config(const models::LanguageConfig& l, const std::string& source);
    // Architectures this build can run.
    static const std::vector<std::string>& supported_architectures();
    int64_t q_dim() const { return heads * head_dim; }
    int64_t kv_dim() const { return kv_heads * head_dim; }
    // Parameter count of the decoder (embeddings + layers + norm + head).
    int64_t parameter_count() const;
    std::string summary() const;  // one line for --verbose / janus info
};

}  // namespace janus
