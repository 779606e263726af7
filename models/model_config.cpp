// config.json parsing with transformers defaults (see model_config.h for the defaults table).
#include "models/model_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "janus/error.h"

namespace janus::models {

const char* architecture_name(Architecture a) {
    switch (a) {
        case Architecture::llama: return "LlamaForCausalLM";
        case Architecture::qwen2: return "Qwen2ForCausalLM";
        case Architecture::janus: return "MultiModalityCausalLM";
    }
    return "?";
}

std::string supported_architectures() {
    return "LlamaForCausalLM (model_type llama: Llama 2/3, DeepSeek-LLM, DeepSeek-R1-Distill-Llama), "
           "Qwen2ForCausalLM (model_type qwen2: Qwen2/2.5, DeepSeek-R1-Distill-Qwen), "
           "MultiModalityCausalLM (model_type multi_modality: Janus-1.3B, Janus-Pro-1B/7B), "
           "JanusForConditionalGeneration (model_type janus: transformers-converted Janus)";
}

namespace {

const nlohmann::json& empty_object() {
    static const nlohmann::json e = nlohmann::json::object();
    return e;
}

const nlohmann::json& sub(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_object() ? *it : empty_object();
}

[[noreturn]] void wrong_type(const std::string& source, const char* key, const nlohmann::json& v, const char* want) {
    throw Error(source + ": key '" + key + "' should be " + want + " but is " + v.dump() +
                " — fix config.json");
}

int64_t get_int(const nlohmann::json& j, const char* key, int64_t def, const std::string& source) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_number_float() && it->get<double>() == double(int64_t(it->get<double>()))) return int64_t(it->get<double>());
    wrong_type(source, key, *it, "an integer");
}
double get_double(const nlohmann::json& j, const char* key, double def, const std::string& source) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (it->is_number()) return it->get<double>();
    wrong_type(source, key, *it, "a number");
}
bool get_bool(const nlohmann::json& j, const char* key, bool def, const std::string& source) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (it->is_boolean()) return it->get<bool>();
    wrong_type(source, key, *it, "true or false");
}
std::string get_str(const nlohmann::json& j, const char* key, const std::string& def, const std::string& source) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (it->is_string()) return it->get<std::string>();
    wrong_type(source, key, *it, "a string");
}
std::optional<int64_t> get_opt_int(const nlohmann::json& j, const char* key, std::optional<int64_t> def,
                                   const std::string& source) {
    auto it = j.find(key);
    if (it == j.end()) return def;
    if (it->is_null()) return std::nullopt;
    return get_int(j, key, 0, source);
}

void check_positive(int64_t v, const char* key, const std::string& source) {
    if (v <= 0) throw Error(source + ": '" + key + "' must be positive (got " + std::to_string(v) + ")");
}

JanusConfig parse_janus(const nlohmann::json& j, const std::string& source) {
    JanusConfig c;
    c.language = parse_language_config(sub(j, "language_config"), "llama", source + " language_config");
    const int64_t hidden = c.language.hidden_size;

    const nlohmann::json& vc = sub(j, "vision_config");
    const nlohmann::json& vp = sub(vc, "params");
    const std::string vsrc = source + " vision_config.params";
    c.vision.cls = get_str(vc, "cls", c.vision.cls, source + " vision_config");
    c.vision.model_name = get_str(vp, "model_name", c.vision.model_name, vsrc);
    c.vision.image_size = get_int(vp, "image_size", 384, vsrc);
    c.vision.select_layer = get_int(vp, "select_layer", -1, vsrc);
    c.vision.select_feature = get_str(vp, "select_feature", "same", vsrc);
    const bool explicit_dims = vp.contains("width") && vp.contains("layers") && vp.contains("heads");
    if (c.vision.model_name != "siglip_large_patch16_384" && !explicit_dims)
        throw Error(vsrc + ": vision model '" + c.vision.model_name +
                    "' is not supported (only siglip_large_patch16_384, used by Janus and Janus-Pro; test "
                    "models may instead give width, layers, heads, mlp_ratio and patch_size)");
    c.vision.width = get_int(vp, "width", c.vision.width, vsrc);
    c.vision.layers = get_int(vp, "layers", c.vision.layers, vsrc);
    c.vision.heads = get_int(vp, "heads", c.vision.heads, vsrc);
    c.vision.patch_size = get_int(vp, "patch_size", c.vision.patch_size, vsrc);
    c.vision.mlp_dim = int64_t(double(c.vision.width) * get_double(vp, "mlp_ratio", 4.0, vsrc));
    check_positive(c.vision.width, "width", vsrc);
    check_positive(c.vision.layers, "layers", vsrc);
    check_positive(c.vision.heads, "heads", vsrc);
    check_positive(c.vision.patch_size, "patch_size", vsrc);
    const int64_t full_depth = c.vision.layers;
    // select_layer <= 0 keeps layers + k + 1 blocks, k > 0 keeps k blocks (facts §1.3).
    c.vision.depth = c.vision.select_layer <= 0 ? full_depth + c.vision.select_layer + 1 : c.vision.select_layer;
    if (c.vision.depth <= 0 || c.vision.depth > full_depth)
        throw Error(vsrc + ": select_layer " + std::to_string(c.vision.select_layer) + " leaves no valid block count");
    check_positive(c.vision.image_size, "image_size", vsrc);
    if (c.vision.image_size % c.vision.patch_size)
        throw Error(vsrc + ": image_size " + std::to_string(c.vision.image_size) + " is not a multiple of the patch size");

    auto projector = [&](const char* key, int64_t in_dim) {
        const nlohmann::json& pc = sub(j, key);
        const nlohmann::json& pp = sub(pc, "params");
        const std::string psrc = source + " " + key + ".params";
        MlpProjectorConfig p;
        p.cls = get_str(pc, "cls", p.cls, source + " " + key);
        p.projector_type = get_str(pp, "projector_type", "mlp_gelu", psrc);
        p.depth = get_int(pp, "depth", 2, psrc);
        p.input_dim = get_int(pp, "input_dim", in_dim, psrc);
        p.n_embed = get_int(pp, "n_embed", hidden, psrc);
        if (p.projector_type != "mlp_gelu")
            throw Error(psrc + ": projector_type '" + p.projector_type + "' is not supported (only mlp_gelu)");
        check_positive(p.depth, "depth", psrc);
        check_positive(p.input_dim, "input_dim", psrc);
        check_positive(p.n_embed, "n_embed", psrc);
        return p;
    };
    c.aligner = projector("aligner_config", c.vision.width);

    const nlohmann::json& gv = sub(j, "gen_vision_config");
    const nlohmann::json& gvp = sub(gv, "params");
    c.gen_vision.cls = get_str(gv, "cls", c.gen_vision.cls, source + " gen_vision_config");
    c.gen_vision.image_token_size = get_int(gvp, "image_token_size", 16384, source + " gen_vision_config.params");
    c.gen_vision.n_embed = get_int(gvp, "n_embed", 8, source + " gen_vision_config.params");
    {
        const std::string gsrc = source + " gen_vision_config.params";
        GenVisionConfig& g = c.gen_vision;
        g.image_token_size = get_int(gvp, "codebook_size", g.image_token_size, gsrc);
        g.n_embed = get_int(gvp, "codebook_embed_dim", g.n_embed, gsrc);
        g.ch = get_int(gvp, "ch", g.ch, gsrc);
        g.z_channels = get_int(gvp, "z_channels", g.z_channels, gsrc);
        g.num_res_blocks = get_int(gvp, "num_res_blocks", g.num_res_blocks, gsrc);
        g.image_size = get_int(gvp, "image_size", g.image_size, gsrc);
        auto mult = [&](const char* key, std::vector<int64_t>& out) {
            auto it = gvp.find(key);
            if (it == gvp.end()) return;
            if (!it->is_array() || it->empty() || it->size() > 8) wrong_type(gsrc, key, *it, "a list of 1-8 integers");
            out.clear();
            for (const auto& v : *it) {
                if (!v.is_number_integer() || v.get<int64_t>() <= 0) wrong_type(gsrc, key, *it, "a list of positive integers");
                out.push_back(v.get<int64_t>());
            }
        };
        mult("encoder_ch_mult", g.encoder_ch_mult);
        mult("decoder_ch_mult", g.decoder_ch_mult);
        check_positive(g.ch, "ch", gsrc);
        check_positive(g.z_channels, "z_channels", gsrc);
        check_positive(g.num_res_blocks, "num_res_blocks", gsrc);
    }
    check_positive(c.gen_vision.image_token_size, "image_token_size", source + " gen_vision_config.params");
    check_positive(c.gen_vision.n_embed, "n_embed", source + " gen_vision_config.params");
    c.gen_aligner = projector("gen_aligner_config", c.gen_vision.n_embed);

    const nlohmann::json& gh = sub(j, "gen_head_config");
    const nlohmann::json& ghp = sub(gh, "params");
    const std::string hsrc = source + " gen_head_config.params";
    c.gen_head.cls = get_str(gh, "cls", c.gen_head.cls, source + " gen_head_config");
    c.gen_head.n_embed = get_int(ghp, "n_embed", hidden, hsrc);
    c.gen_head.image_token_embed = get_int(ghp, "image_token_embed", hidden, hsrc);
    c.gen_head.image_token_size = get_int(ghp, "image_token_size", c.gen_vision.image_token_size, hsrc);
    check_positive(c.gen_head.image_token_embed, "image_token_embed", hsrc);
    check_positive(c.gen_head.image_token_size, "image_token_size", hsrc);
    return c;
}

// transformers' JanusConfig: text_config (Llama), vision_config (hidden_size, num_hidden_layers,
// num_attention_heads, image_size, patch_size, mlp_ratio), vq_config (num_embeddings, embed_dim).
JanusConfig parse_janus_transformers(const nlohmann::json& j, const std::string& source) {
    JanusConfig c;
    c.transformers_format = true;
    c.language = parse_language_config(sub(j, "text_config"), "llama", source + " text_config");
    const nlohmann::json& vc = sub(j, "vision_config");
    const std::string vsrc = source + " vision_config";
    c.vision.width = get_int(vc, "hidden_size", 1024, vsrc);
    c.vision.depth = get_int(vc, "num_hidden_layers", 24, vsrc);
    c.vision.heads = get_int(vc, "num_attention_heads", 16, vsrc);
    c.vision.image_size = get_int(vc, "image_size", 384, vsrc);
    c.vision.patch_size = get_int(vc, "patch_size", 16, vsrc);
    c.vision.mlp_dim = int64_t(double(c.vision.width) * get_double(vc, "mlp_ratio", 4.0, vsrc));
    c.vision.mlp_dim = get_int(vc, "intermediate_size", c.vision.mlp_dim, vsrc);
    c.vision.eps = get_double(vc, "layer_norm_eps", c.vision.eps, vsrc);
    c.vision.layers = c.vision.depth;
    check_positive(c.vision.patch_size, "patch_size", vsrc);
    check_positive(c.vision.depth, "num_hidden_layers", vsrc);
    const nlohmann::json& vq = sub(j, "vq_config");
    const std::string qsrc = source + " vq_config";
    GenVisionConfig& g = c.gen_vision;
    g.image_token_size = get_int(vq, "num_embeddings", 16384, qsrc);
    g.n_embed = get_int(vq, "embed_dim", 8, qsrc);
    g.z_channels = get_int(vq, "latent_channels", g.z_channels, qsrc);
    g.ch = get_int(vq, "base_channels", g.ch, qsrc);
    if (auto it = vq.find("channel_multiplier"); it != vq.end() && !it->is_null()) {
        if (!it->is_array() || it->empty() || it->size() > 8) wrong_type(qsrc, "channel_multiplier", *it, "a list of 1-8 integers");
        g.decoder_ch_mult.clear();
        for (const auto& v : *it) {
            if (!v.is_number_integer() || v.get<int64_t>() <= 0) wrong_type(qsrc, "channel_multiplier", *it, "a list of positive integers");
            g.decoder_ch_mult.push_back(v.get<int64_t>());
        }
        g.encoder_ch_mult = g.decoder_ch_mult;
    }
    g.num_res_blocks = get_int(vq, "num_res_blocks", g.num_res_blocks, qsrc);
    g.image_size = get_int(vq, "image_size", g.image_size, qsrc);
    const int64_t hidden = c.language.hidden_size;
    c.aligner.input_dim = c.vision.width;
    c.aligner.n_embed = hidden;
    c.gen_aligner.input_dim = c.gen_vision.n_embed;
    c.gen_aligner.n_embed = hidden;
    c.gen_head.n_embed = hidden;
    c.gen_head.image_token_embed = hidden;
    c.gen_head.image_token_size = c.gen_vision.image_token_size;
    return c;
}

}  // namespace

JanusConfig parse_janus_config(const nlohmann::json& j, const std::string& source) {
    if (!j.is_object()) throw Error(source + ": config is not a JSON object");
    std::string arch;
    if (auto it = j.find("architectures"); it != j.end() && it->is_array() && !it->empty() && (*it)[0].is_string())
        arch = (*it)[0].get<std::string>();
    const std::string model_type = get_str(j, "model_type", "", source);
    const bool transformers = arch == "JanusForConditionalGeneration" || model_type == "janus" ||
                              (arch.empty() && model_type.empty() && !j.contains("language_config") &&
                               (j.contains("text_config") || j.contains("vq_config")));
    return transformers ? parse_janus_transformers(j, source) : parse_janus(j, source);
}

LanguageConfig parse_language_config(const nlohmann::json& j, const std::string& model_type, const std::string& source) {
    if (!j.is_object()) throw Error(source + ": expected a JSON object");
    LanguageConfig c;
    const bool qwen = model_type == "qwen2";
    c.model_type = qwen ? "qwen2" : "llama";
    c.vocab_size = get_int(j, "vocab_size", qwen ? 151936 : 32000, source);
    c.hidden_size = get_int(j, "hidden_size", 4096, source);
    c.intermediate_size = get_int(j, "intermediate_size", qwen ? 22016 : 11008, source);
    c.num_hidden_layers = get_int(j, "num_hidden_layers", 32, source);
    c.num_attention_heads = get_int(j, "num_attention_heads", 32, source);
    c.num_key_value_heads = get_int(j, "num_key_value_heads", c.num_attention_heads, source);
    for (auto [v, k] : {std::pair{c.vocab_size, "vocab_size"}, {c.hidden_size, "hidden_size"},
                        {c.intermediate_size, "intermediate_size"}, {c.num_hidden_layers, "num_hidden_layers"},
                        {c.num_attention_heads, "num_attention_heads"}, {c.num_key_value_heads, "num_key_value_heads"}})
        check_positive(v, k, source);
    if (c.num_attention_heads % c.num_key_value_heads)
        throw Error(source + ": num_attention_heads (" + std::to_string(c.num_attention_heads) +
                    ") is not a multiple of num_key_value_heads (" + std::to_string(c.num_key_value_heads) + ")");
    c.head_dim = get_int(j, "head_dim", c.hidden_size / c.num_attention_heads, source);
    check_positive(c.head_dim, "head_dim", source);
    c.max_position_embeddings = get_int(j, "max_position_embeddings", qwen ? 32768 : 2048, source);
    c.rms_norm_eps = get_double(j, "rms_norm_eps", 1e-6, source);
    c.rope_theta = get_double(j, "rope_theta", 10000.0, source);
    c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", false, source);
    if (qwen) {
        c.use_sliding_window = get_bool(j, "use_sliding_window", false, source);
    } else {
        c.attention_bias = get_bool(j, "attention_bias", false, source);
        c.mlp_bias = get_bool(j, "mlp_bias", false, source);
    }
    c.hidden_act = get_str(j, "hidden_act", "silu", source);
    c.torch_dtype = get_str(j, "torch_dtype", "", source);
    if (c.torch_dtype.empty()) c.torch_dtype = get_str(j, "dtype", "", source);
    c.bos_token_id = get_opt_int(j, "bos_token_id", qwen ? std::nullopt : std::optional<int64_t>(1), source);
    c.bos_token_id_declared = j.contains("bos_token_id") && !j["bos_token_id"].is_null();
    c.eos_token_id_declared = j.contains("eos_token_id") && !j["eos_token_id"].is_null();
    c.pad_token_id = get_opt_int(j, "pad_token_id", std::nullopt, source);
    if (auto it = j.find("eos_token_id"); it != j.end()) {
        if (it->is_array()) {
            for (const auto& v : *it)
                if (v.is_number_integer()) c.eos_token_ids.push_back(v.get<int64_t>());
                else wrong_type(source, "eos_token_id", *it, "an integer or a list of integers");
        } else if (it->is_number_integer()) {
            c.eos_token_ids.push_back(it->get<int64_t>());
        } else if (!it->is_null()) {
            wrong_type(source, "eos_token_id", *it, "an integer or a list of integers");
        }
    } else if (!qwen) {
        c.eos_token_ids.push_back(2);
    }
    if (auto it = j.find("rope_scaling"); it != j.end() && !it->is_null() && !it->is_object())
        wrong_type(source, "rope_scaling", *it, "an object or null");
    if (auto it = j.find("rope_scaling"); it != j.end() && it->is_object()) {
        const std::string rsrc = source + " rope_scaling";
        c.rope_scaling.type = get_str(*it, "rope_type", get_str(*it, "type", "", rsrc), rsrc);
        c.rope_scaling.factor = get_double(*it, "factor", 1.0, rsrc);
        c.rope_scaling.low_freq_factor = get_double(*it, "low_freq_factor", 1.0, rsrc);
        c.rope_scaling.high_freq_factor = get_double(*it, "high_freq_factor", 4.0, rsrc);
        c.rope_scaling.original_max_position =
            get_int(*it, "original_max_position_embeddings", 8192, rsrc);
        if (c.rope_scaling.type == "default") c.rope_scaling.type.clear();
    }
    return c;
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& source) {
    if (!j.is_object()) throw Error(source + ": config is not a JSON object");
    ModelConfig m;
    m.raw = j;
    m.path = source;
    m.model_type = get_str(j, "model_type", "", source);
    std::string arch;
    if (auto it = j.find("architectures"); it != j.end() && it->is_array() && !it->empty() && (*it)[0].is_string())
        arch = (*it)[0].get<std::string>();
    m.architecture_string = arch.empty() ? m.model_type : arch;
    if (arch == "MultiModalityCausalLM" || (arch.empty() && m.model_type == "multi_modality")) {
        m.architecture = Architecture::janus;
        m.janus = parse_janus(j, source);
    } else if (arch == "JanusForConditionalGeneration" || (arch.empty() && m.model_type == "janus")) {
        m.architecture = Architecture::janus;
        m.janus = parse_janus_transformers(j, source);
    } else if (arch == "LlamaForCausalLM" || (arch.empty() && m.model_type == "llama")) {
        m.architecture = Architecture::llama;
        m.language = parse_language_config(j, "llama", source);
    } else if (arch == "Qwen2ForCausalLM" || (arch.empty() && m.model_type == "qwen2")) {
        m.architecture = Architecture::qwen2;
        m.language = parse_language_config(j, "qwen2", source);
    } else {
        throw Error(source + ": unsupported architecture '" +
                    (m.architecture_string.empty() ? std::string("(none given)") : m.architecture_string) +
                    "'. Supported: " + supported_architectures());
    }
    if (m.janus) m.language = m.janus->language;
    return m;
}

ModelConfig ModelConfig::load(const std::string& model_dir) {
    std::filesystem::path p = std::filesystem::path(model_dir) / "config.json";
    std::ifstream in(p);
    if (!in)
        throw file_error(p.string(), "cannot open — a model directory needs the config.json that ships with the "
                                     "weights (download it next to them)");
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::exception& e) {
        throw file_error(p.string(), std::string("not valid JSON: ") + e.what());
    }
    return from_json(j, p.string());
}

}  // namespace janus::models
