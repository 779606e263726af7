// LmConfig parsing with transformers' LlamaConfig / Qwen2Config defaults (see text/lm_config.h).
#include "text/lm_config.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "janus/error.h"

namespace janus {

const std::vector<std::string>& LmConfig::supported_architectures() {
    static const std::vector<std::string> a = {"LlamaForCausalLM", "Qwen2ForCausalLM",
                                               "MultiModalityCausalLM (Janus / Janus-Pro)",
                                               "JanusForConditionalGeneration"};
    return a;
}

namespace {
template <class T>
T get_or(const nlohmann::json& j, const char* key, T def, const std::string& source) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    try {
        return it->get<T>();
    } catch (const std::exception& e) {
        throw Error(source + ": key '" + key + "' has the wrong type (" + it->dump() + ")");
    }
}
}  // namespace

LmConfig LmConfig::from_json(const nlohmann::json& j, const std::string& arch, const std::string& source) {
    if (!j.is_object()) throw Error(source + ": expected a JSON object for the language-model config");
    LmConfig c;
    c.architecture = arch;
    const bool qwen = arch == "Qwen2ForCausalLM";
    if (!qwen && arch != "LlamaForCausalLM") {
        std::string list;
        for (auto& s : supported_architectures()) list += (list.empty() ? "" : ", ") + s;
        throw Error(source + ": unsupported architecture '" + arch + "' (supported: " + list + ")");
    }
    // transformers defaults (LlamaConfig / Qwen2Config).
    c.vocab_size = get_or<int64_t>(j, "vocab_size", qwen ? 151936 : 32000, source);
    c.hidden = get_or<int64_t>(j, "hidden_size", 4096, source);
    c.intermediate = get_or<int64_t>(j, "intermediate_size", qwen ? 22016 : 11008, source);
    c.layers = get_or<int64_t>(j, "num_hidden_layers", 32, source);
    c.heads = get_or<int64_t>(j, "num_attention_heads", 32, source);
    c.kv_heads = get_or<int64_t>(j, "num_key_value_heads", c.heads, source);
    c.max_position = get_or<int64_t>(j, "max_position_embeddings", qwen ? 32768 : 2048, source);
    c.rms_eps = float(get_or<double>(j, "rms_norm_eps", 1e-6, source));
    c.rope_theta = float(get_or<double>(j, "rope_theta", 10000.0, source));
    c.tie_embeddings = get_or<bool>(j, "tie_word_embeddings", false, source);
    c.hidden_act = get_or<std::string>(j, "hidden_act", "silu", source);
    c.torch_dtype = get_or<std::string>(j, "torch_dtype", "", source);
    if (c.torch_dtype.empty()) c.torch_dtype = get_or<std::string>(j, "dtype", "", source);
    if (qwen) {
        c.qkv_bias = true;
        if (get_or<bool>(j, "use_sliding_window", false, source))
            throw Error(source + ": use_sliding_window=true is not supported (Qwen2 sliding-window "
                                 "attention); set it to false in config.json to run with full attention");
    } else {
        bool ab = get_or<bool>(j, "attention_bias", false, source);
        c.qkv_bias = c.o_bias = ab;
        c.mlp_bias = get_or<bool>(j, "mlp_bias", false, source);
    }
    if (c.heads <= 0 || c.kv_heads <= 0 || c.hidden <= 0 || c.layers <= 0 || c.vocab_size <= 0 ||
        c.intermediate <= 0)
        throw Error(source + ": sizes must be positive (hidden_size, num_hidden_layers, num_attention_heads, ...)");
    if (c.heads % c.kv_heads != 0)
        throw Error(source + ": num_attention_heads (" + std::to_string(c.heads) +
                    ") must be a multiple of num_key_value_heads (" + std::to_string(c.kv_heads) + ")");
    int64_t hd_default = c.hidden / c.heads;
    c.head_dim = get_or<int64_t>(j, "head_dim", hd_default, source);
    if (c.head_dim <= 0 || c.head_dim % 2 != 0)
        throw Error(source + ": head_dim must be a positive even number, got " + std::to_string(c.head_dim));
    if (c.hidden_act != "silu")
        throw Error(source + ": hidden_act '" + c.hidden_act + "' is not supported (only silu)");
    if (j.contains("eos_token_id") && !j["eos_token_id"].is_null()) {
        const auto& e = j["eos_token_id"];
        if (e.is_array())
            for (auto& x : e) c.eos_ids.push_back(x.get<int32_t>());
        else if (e.is_number_integer())
            c.eos_ids.push_back(e.get<int32_t>());
    }
    c.bos_id = get_or<int32_t>(j, "bos_token_id", -1, source);

    if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
        const auto& r = j["rope_scaling"];
        std::string type = get_or<std::string>(r, "rope_type", "", source);
        if (type.empty()) type = get_or<std::string>(r, "type", "", source);
        if (type == "default" || type.empty()) {
            // nothing
        } else if (type == "linear" || type == "llama3") {
            c.rope_scaling.type = type;
            c.rope_scaling.factor = float(get_or<double>(r, "factor", 1.0, source));
            if (type == "llama3") {
                c.rope_scaling.low_freq_factor = float(get_or<double>(r, "low_freq_factor", 1.0, source));
                c.rope_scaling.high_freq_factor = float(get_or<double>(r, "high_freq_factor", 4.0, source));
                c.rope_scaling.original_max_position =
                    get_or<int64_t>(r, "original_max_position_embeddings", 8192, source);
            }
            if (!(c.rope_scaling.factor > 0))
                throw Error(source + ": rope_scaling.factor must be > 0");
        } else {
            throw Error(source + ": rope_scaling type '" + type +
                        "' is not supported (supported: default, linear, llama3)");
        }
    }
    return c;
}

int64_t LmConfig::parameter_count() const {
    int64_t per_layer = hidden * q_dim() + 2 * hidden * kv_dim() + q_dim() * hidden +
                        3 * hidden * intermediate + 2 * hidden;
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
