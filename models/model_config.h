// ModelConfig: a checkpoint's config.json with transformers' defaults applied for absent keys
// (facts §1.2 — the Janus-Pro-7B language_config spells out only 5 keys, everything else is a
// LlamaConfig default). Covers:
//   - LlamaForCausalLM / Qwen2ForCausalLM (top-level config) -> LanguageConfig,
//   - Janus "multi_modality" configs (MultiModalityCausalLM: language_config, vision_config,
//     aligner_config, gen_vision_config, gen_aligner_config, gen_head_config, each {cls, params}),
//   - transformers-converted Janus ("janus": text_config, vision_config, vq_config).
// Defaults (documented in docs/info.md):
//   Llama: vocab 32000, hidden 4096, intermediate 11008, layers 32, heads 32, kv_heads = heads,
//          head_dim = hidden / heads, max_pos 2048, rms_norm_eps 1e-6, rope_theta 10000, no
//          rope_scaling, tie_word_embeddings false, attention_bias false, mlp_bias false, bos 1, eos 2.
//   Qwen2: vocab 151936, intermediate 22016, max_pos 32768, q/k/v biases always (attention_bias and
//          mlp_bias are not Qwen2Config keys and are ignored), use_sliding_window false, no bos/eos
//          default; the rest as Llama.
// This parser is the single source of truth for the LM hyper-parameters: text/lm_config.cpp builds
// the runtime LmConfig from parse_language_config() and only adds the checks of what the decoder can run.
//   Janus sub-configs: the released Janus-Pro values (§1.3-§1.6) with n_embed = LM hidden.
// The raw JSON stays available in ModelConfig::raw.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace janus::models {

struct RopeScaling {
    std::string type;                         // "" = none; "linear", "dynamic", "llama3", "yarn", ...
    double factor = 1.0;
    double low_freq_factor = 1.0;             // llama3
    double high_freq_factor = 4.0;            // llama3
    int64_t original_max_position = 8192;     // llama3 / yarn: original_max_position_embeddings
};

// Llama-family decoder hyper-parameters (LlamaConfig / Qwen2Config fields).
struct LanguageConfig {
    std::string model_type = "llama";  // "llama" | "qwen2"
    int64_t vocab_size = 32000;
    int64_t hidden_size = 4096;
    int64_t intermediate_size = 11008;
    int64_t num_hidden_layers = 32;
    int64_t num_attention_heads = 32;
    int64_t num_key_value_heads = 32;
    int64_t head_dim = 128;
    int64_t max_position_embeddings = 2048;
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    RopeScaling rope_scaling;
    bool tie_word_embeddings = false;
    bool attention_bias = false;  // Llama: bias on q/k/v/o. Qwen2: q/k/v always biased, o never.
    bool mlp_bias = false;
    std::string hidden_act = "silu";
    bool use_sliding_window = false;  // Qwen2 only
    std::optional<int64_t> bos_token_id;
    std::vector<int64_t> eos_token_ids;  // int or list in config.json
    // Whether bos/eos were written in config.json rather than taken from LlamaConfig's defaults
    // (1 / 2). Runtime stop ids use only declared ones: the reference passes the tokenizer's EOS to
    // generate() explicitly (facts §4.3), and id 2 is an ordinary token in DeepSeek vocabularies.
    bool bos_token_id_declared = false;
    bool eos_token_id_declared = false;
    std::optional<int64_t> pad_token_id;
    std::string torch_dtype;  // as declared ("bfloat16", ...; "" when absent)

    bool qkv_bias() const { return model_type == "qwen2" || attention_bias; }
    bool o_bias() const { return model_type != "qwen2" && attention_bias; }
    // K+V bytes per token per sequence for a cache of `elem_bytes`-sized elements.
    int64_t kv_bytes_per_token(int64_t elem_bytes) const {
        return 2 * num_hidden_layers * num_key_value_heads * head_dim * elem_bytes;
    }
};

// Janus sub-models. SigLIP dims default to siglip_large_patch16_384 (the only model_name the released
// models use); vision_config.params may spell out width, layers, heads, mlp_ratio and patch_size
// (tiny test models do, and must for any other model_name).
struct JanusVisionConfig {
    std::string cls = "CLIPVisionTower";
    std::string model_name = "siglip_large_patch16_384";
    int64_t image_size = 384;
    int64_t patch_size = 16;
    int64_t width = 1024;
    int64_t layers = 24;       // blocks of the encoder as configured (before select_layer)
    int64_t depth = 24;        // blocks run (after select_layer truncation)
    int64_t heads = 16;
    int64_t mlp_dim = 4096;
    int64_t select_layer = -1;
    std::string select_feature = "same";
    double eps = 1e-6;         // LayerNorm epsilon (transformers: layer_norm_eps)
    int64_t num_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
};
struct MlpProjectorConfig {  // aligner / gen_aligner: Linear(in, n) -> GELU -> Linear(n, n)
    std::string cls = "MlpProjector";
    std::string projector_type = "mlp_gelu";
    int64_t depth = 2;
    int64_t input_dim = 1024;
    int64_t n_embed = 4096;
};
struct GenVisionConfig {  // VQ-16: hyper-parameters are hard-coded in the reference (§1.1, §1.5)
    std::string cls = "VQ-16";
    int64_t image_token_size = 16384;  // codebook size
    int64_t n_embed = 8;               // code dim
    // VQ_16() defaults. Official configs never set these; janus.cpp reads them from
    // gen_vision_config.params (ch, z_channels, encoder_ch_mult, decoder_ch_mult, num_res_blocks,
    // codebook_size, codebook_embed_dim) so tiny test models can shrink the VQ model.
    int64_t ch = 128;
    int64_t z_channels = 256;
    std::vector<int64_t> encoder_ch_mult = {1, 1, 2, 2, 4};
    std::vector<int64_t> decoder_ch_mult = {1, 1, 2, 2, 4};
    int64_t num_res_blocks = 2;  // encoder; the decoder uses num_res_blocks + 1
    int64_t image_size = 384;    // pixels per side of a generated image (codes: image_size / 2^(levels-1))
};
struct GenHeadConfig {
    std::string cls = "vision_head";
    int64_t n_embed = 4096;
    int64_t image_token_embed = 4096;
    int64_t image_token_size = 16384;
};
struct JanusConfig {
    LanguageConfig language;
    JanusVisionConfig vision;
    MlpProjectorConfig aligner;
    GenVisionConfig gen_vision;
    MlpProjectorConfig gen_aligner;
    GenHeadConfig gen_head;
    bool transformers_format = false;  // true for model_type "janus" (deepseek-community conversions)
};

enum class Architecture : uint8_t { llama, qwen2, janus };
const char* architecture_name(Architecture a);  // "LlamaForCausalLM", "Qwen2ForCausalLM", "MultiModalityCausalLM"
// The supported list for error messages: "LlamaForCausalLM, Qwen2ForCausalLM, MultiModalityCausalLM (Janus), ..."
std::string supported_architectures();

struct ModelConfig {
    Architecture architecture = Architecture::llama;
    std::string architecture_string;  // as written in config.json ("architectures"[0] or model_type)
    std::string model_type;
    LanguageConfig language;           // the LM (Janus: its language_config / text_config)
    std::optional<JanusConfig> janus;  // set for Janus checkpoints
    nlohmann::json raw;
    std::string path;                  // the config.json read

    // Parses a config object; `source` names it in errors. Throws janus::Error for unknown
    // architectures (listing the supported ones) and wrongly-typed values.
    static ModelConfig from_json(const nlohmann::json& j, const std::string& source);
    // Reads <dir>/config.json.
    static ModelConfig load(const std::string& model_dir);
};

// The Janus sub-configs of a whole config.json, official (multi_modality) or transformers ("janus")
// layout, with the official defaults for absent keys — also for partial configs (only
// vision_config / gen_vision_config, or {}), as the vision tests and `janus bench vision` use.
JanusConfig parse_janus_config(const nlohmann::json& j, const std::string& source);

// Parses one LM config object with the defaults of `model_type` ("llama" or "qwen2").
LanguageConfig parse_language_config(const nlohmann::json& j, const std::string& model_type, const std::string& source);

}  // namespace janus::models
