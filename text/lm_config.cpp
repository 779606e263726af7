// LmConfig from models::parse_language_config (the one config.json parser, transformers' LlamaConfig /
// Qwen2Config defaults) plus the checks of what the decoder supports (see text/lm_config.h).
#include "text/lm_config.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <sstream>

#include "janus/error.h"
#include "models/model_config.h"

namespace janus {

const std::vector<std::string>& LmConfig::supported_architectures() {
    static const std::vector<std::string> a = {"LlamaForCausalLM", "Qwen2ForCausalLM",
                                               "MultiModalityCausalLM (Janus / Janus-Pro)",
                                               "JanusForConditionalGeneration"};
    return a;
}

LmConfig LmConfig::from_json(const nlohmann::json& j, const std::string& arch, const std::string& source) {
    if (arch != "LlamaForCausalLM" && arch != "Qwen2ForCausalLM") {
        std::string list;
        for (auto& s : supported_architectures()) list += (list.empty() ? "" : ", ") + s;
        throw Error(source + ": unsupported architecture '" + arch + "' (supported: " + list + ")");
    }
    return from_language_config(
        models::parse_language_config(j, arch == "Qwen2ForCausalLM" ? "qwen2" : "llama", source), source);
}

namespace {
int32_t token_id(int64_t v, const char* key, const std::string& source) {
    if (v < 0 || v > INT32_MAX)
        throw Error(source + ": " + key + " " + std::to_string(v) +
                    " is not a valid token id — fix config.json");
    return int32_t(v);
}
}  // namespace

LmConfig LmConfig::from_language_config(const models::LanguageConfig& l, const std::string& source) {
    const bool qwen = l.model_type == "qwen2";
    LmConfig c;
    c.architecture = qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
    c.vocab_size = l.vocab_size;
    c.hidden = l.hidden_size;
    c.intermediate = l.intermediate_size;
    c.layers = l.num_hidden_layers;
    c.heads = l.num_attention_heads;
    c.kv_heads = l.num_key_value_heads;
    c.head_dim = l.head_dim;
    c.max_position = l.max_position_embeddings;
    c.rms_eps = float(l.rms_norm_eps);
    c.rope_theta = float(l.rope_theta);
    c.tie_embeddings = l.tie_word_embeddings;
    c.qkv_bias = l.qkv_bias();
    c.o_bias = l.o_bias();
    c.mlp_bias = l.mlp_bias;
    c.hidden_act = l.hidden_act;
    c.torch_dtype = l.torch_dtype;
    if (l.eos_token_id_declared)
        for (int64_t e : l.eos_token_ids) c.eos_ids.push_back(token_id(e, "eos_token_id", source));
    if (l.bos_token_id_declared && l.bos_token_id)
        c.bos_id = token_id(*l.bos_token_id, "bos_token_id", source);

    // What the decoder can run (parse_language_config already checked sizes and the head ratio).
    if (l.use_sliding_window)
        throw Error(source +
                    ": use_sliding_window=true is not supported (Qwen2 sliding-window "
                    "attention); set it to false in config.json to run with full attention");
    if (c.head_dim % 2 != 0)
        throw Error(source + ": head_dim must be a positive even number (rotary pairs), got " +
                    std::to_string(c.head_dim));
    if (c.hidden_act != "silu")
        throw Error(source + ": hidden_act '" + c.hidden_act + "' is not supported (only silu)");
    const std::string& type = l.rope_scaling.type;
    if (type == "linear" || type == "llama3") {
        c.rope_scaling.type = type;
        c.rope_scaling.factor = float(l.rope_scaling.factor);
        if (type == "llama3") {
            c.rope_scaling.low_freq_factor = float(l.rope_scaling.low_freq_factor);
            c.rope_scaling.high_freq_factor = float(l.rope_scaling.high_freq_factor);
            c.rope_scaling.original_max_position = l.rope_scaling.original_max_position;
        }
        if (!(c.rope_scaling.factor > 0)) throw Error(source + ": rope_scaling.factor must be > 0");
    } else if (!type.empty()) {
        throw Error(source + ": rope_scaling type '" + type +
                    "' is not supported (supported: default, linear, llama3)");
    }
    return c;
}

int64_t LmConfig::parameter_count() const {
    int64_t per_layer =
        hidden * q_dim() + 2 * hidden * kv_dim() + q_dim() * hidden + 3 * hidden * intermediate + 2 * hidden;
    if (qkv_bias) per_layer += q_dim() + 2 * kv_dim();
    if (o_bias) per_layer += hidden;
    if (mlp_bias) per_layer += 2 * intermediate + hidden;
    int64_t n = vocab_size * hidden + layers * per_layer + hidden;
    if (!tie_embeddings) n += vocab_size * hidden;
    return n;
}

std::string LmConfig::summary() const {
    std::ostringstream s;
    s << architecture << ": " << layers << " layers, hidden " << hidden << ", heads " << heads << "/"
      << kv_heads << " (head_dim " << head_dim << "), ffn " << intermediate << ", vocab " << vocab_size
      << ", rope_theta " << rope_theta;
    if (!rope_scaling.type.empty()) s << " (" << rope_scaling.type << " x" << rope_scaling.factor << ")";
    if (tie_embeddings) s << ", tied embeddings";
    if (qkv_bias) s << ", qkv bias";
    return s.str();
}

}  // namespace janus
