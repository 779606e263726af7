// Parsing of the SigLIP / VQ-16 dimensions from config.json (official and transformers spellings,
// official defaults when absent). See vision_config.h.
#include "vision/vision_config.h"

#include "janus/error.h"

namespace janus::vision {

namespace {

template <class T>
void get(const nlohmann::json& o, const char* key, T* out, const std::string& source) {
    if (!o.is_object() || !o.contains(key) || o[key].is_null()) return;
    try {
        *out = o[key].get<T>();
    } catch (const std::exception&) {
        throw Error(source + ": config key '" + key + "' has the wrong type (" + o[key].dump() + ")");
    }
}

const nlohmann::json& sub(const nlohmann::json& c, const char* key) {
    static const nlohmann::json empty = nlohmann::json::object();
    return c.is_object() && c.contains(key) && c[key].is_object() ? c[key] : empty;
}

}  // namespace

int SiglipConfig::depth() const {
    int k = select_layer;
    return k <= 0 ? std::min(layers + k + 1, layers) : std::min(k, layers);
}

void SiglipConfig::validate(const std::string& source) const {
    auto bad = [&](const std::string& what) { throw Error(source + ": bad vision_config: " + what); };
    if (image_size <= 0 || patch_size <= 0 || image_size % patch_size) bad("image_size must be a multiple of patch_size");
    if (width <= 0 || heads <= 0 || width % heads) bad("width must be a positive multiple of heads");
    if (layers <= 0 || mlp_dim <= 0) bad("layers and the MLP width must be positive");
    if (depth() <= 0) bad("select_layer " + std::to_string(select_layer) + " leaves no blocks to run");
}

void VqConfig::validate(const std::string& source) const {
    auto bad = [&](const std::string& what) { throw Error(source + ": bad gen_vision_config: " + what); };
    if (codebook_size <= 0 || embed_dim <= 0 || z_channels <= 0 || ch <= 0) bad("sizes must be positive");
    if (decoder_ch_mult.empty() || encoder_ch_mult.size() != decoder_ch_mult.size())
        bad("encoder_ch_mult and decoder_ch_mult must have the same (non-zero) length");
    for (int m : decoder_ch_mult)
        if (m <= 0 || (ch * m) % groups) bad("every level's channels must be a multiple of 32 (GroupNorm groups)");
    if (num_res_blocks <= 0) bad("num_res_blocks must be positive");
    if (image_size % downsample()) bad("image_size must be a multiple of the downsample factor");
}

SiglipConfig siglip_config_from_json(const nlohmann::json& c, const std::string& source) {
    SiglipConfig s;
    const nlohmann::json& vc = sub(c, "vision_config");
    if (vc.contains("params")) {  // official multi_modality
        const nlohmann::json& p = sub(vc, "params");
        get(p, "image_size", &s.image_size, source);
        get(p, "patch_size", &s.patch_size, source);
        get(p, "width", &s.width, source);
        get(p, "layers", &s.layers, source);
        get(p, "heads", &s.heads, source);
        get(p, "select_layer", &s.select_layer, source);
        double ratio = 4.0;
        get(p, "mlp_ratio", &ratio, source);
        s.mlp_dim = int(s.width * ratio);
        std::string name;
        get(p, "model_name", &name, source);
        if (!name.empty() && name != "siglip_large_patch16_384" && !p.contains("width"))
            throw Error(source + ": vision model '" + name + "' is not supported (only siglip_large_patch16_384)");
    } else if (!vc.empty()) {  // transformers janus
        get(vc, "image_size", &s.image_size, source);
        get(vc, "patch_size", &s.patch_size, source);
        get(vc, "hidden_size", &s.width, source);
        get(vc, "num_hidden_layers", &s.layers, source);
        get(vc, "num_attention_heads", &s.heads, source);
        s.mlp_dim = 4 * s.width;
        double ratio = 0;
        get(vc, "mlp_ratio", &ratio, source);
        if (ratio > 0) s.mlp_dim = int(s.width * ratio);
        get(vc, "intermediate_size", &s.mlp_dim, source);
        get(vc, "layer_norm_eps", &s.eps, source);
    }
    s.validate(source);
    return s;
}

VqConfig vq_config_from_json(const nlohmann::json& c, const std::string& source) {
    VqConfig q;
    const nlohmann::json& g = sub(sub(c, "gen_vision_config"), "params");
    if (!g.empty()) {
        get(g, "image_token_size", &q.codebook_size, source);
        get(g, "codebook_size", &q.codebook_size, source);
        get(g, "n_embed", &q.embed_dim, source);
        get(g, "codebook_embed_dim", &q.embed_dim, source);
        get(g, "z_channels", &q.z_channels, source);
        get(g, "ch", &q.ch, source);
        get(g, "encoder_ch_mult", &q.encoder_ch_mult, source);
        get(g, "decoder_ch_mult", &q.decoder_ch_mult, source);
        get(g, "num_res_blocks", &q.num_res_blocks, source);
        get(g, "image_size", &q.image_size, source);
    }
    const nlohmann::json& h = sub(c, "vq_config");
    if (!h.empty()) {
        get(h, "num_embeddings", &q.codebook_size, source);
        get(h, "embed_dim", &q.embed_dim, source);
        get(h, "latent_channels", &q.z_channels, source);
        get(h, "base_channels", &q.ch, source);
        get(h, "channel_multiplier", &q.decoder_ch_mult, source);
        q.encoder_ch_mult = q.decoder_ch_mult;
        get(h, "num_res_blocks", &q.num_res_blocks, source);
        get(h, "image_size", &q.image_size, source);
    }
    q.validate(source);
    return q;
}

int synthetic_lm_hidden(const std::string& name) {
    if (name == "janus-pro-1b" || name == "janus-1.3b") return 2048;
    if (name == "janus-pro-7b") return 4096;
    throw Error("unknown synthetic model '" + name + "': use janus-pro-1b or janus-pro-7b");
}

}  // namespace janus::vision
