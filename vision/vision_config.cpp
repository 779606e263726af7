// SigLIP / VQ-16 runtime dimensions from the Janus sub-configs that models/model_config.h parses
// (the one config.json parser). See vision_config.h.
#include "vision/vision_config.h"

#include <algorithm>

#include "janus/error.h"

namespace janus::vision {

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

SiglipConfig siglip_config(const models::JanusConfig& c, const std::string& source) {
    SiglipConfig s;
    s.image_size = int(c.vision.image_size);
    s.patch_size = int(c.vision.patch_size);
    s.width = int(c.vision.width);
    s.layers = int(c.vision.layers);
    s.heads = int(c.vision.heads);
    s.mlp_dim = int(c.vision.mlp_dim);
    s.select_layer = int(c.vision.select_layer);
    s.eps = float(c.vision.eps);
    s.validate(source);
    return s;
}

VqConfig vq_config(const models::JanusConfig& c, const std::string& source) {
    const models::GenVisionConfig& g = c.gen_vision;
    VqConfig q;
    q.codebook_size = int(g.image_token_size);
    q.embed_dim = int(g.n_embed);
    q.z_channels = int(g.z_channels);
    q.ch = int(g.ch);
    q.encoder_ch_mult.assign(g.encoder_ch_mult.begin(), g.encoder_ch_mult.end());
    q.decoder_ch_mult.assign(g.decoder_ch_mult.begin(), g.decoder_ch_mult.end());
    q.num_res_blocks = int(g.num_res_blocks);
    q.image_size = int(g.image_size);
    q.validate(source);
    return q;
}

SiglipConfig siglip_config_from_json(const nlohmann::json& c, const std::string& source) {
    return siglip_config(models::parse_janus_config(c, source), source);
}

VqConfig vq_config_from_json(const nlohmann::json& c, const std::string& source) {
    return vq_config(models::parse_janus_config(c, source), source);
}

int synthetic_lm_hidden(const std::string& name) {
    if (name == "janus-pro-1b" || name == "janus-1.3b") return 2048;
    if (name == "janus-pro-7b") return 4096;
    throw Error("unknown synthetic model '" + name + "': use janus-pro-1b or janus-pro-7b");
}

}  // namespace janus::vision
