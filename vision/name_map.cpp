// Official → transformers-converted tensor names for SigLIP, aligners, gen head/embed and VQ-16
// (facts §2.4). Pure string rewriting; see name_map.h.
#include "vision/name_map.h"

#include <regex>

#include "janus/error.h"

namespace janus::vision {

namespace {

bool starts(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

std::string replace_all(std::string s, const std::string& a, const std::string& b) {
    for (size_t i = s.find(a); i != std::string::npos; i = s.find(a, i + b.size())) s.replace(i, a.size(), b);
    return s;
}

std::string map_siglip(const std::string& rest) {
    static const std::regex block(R"(^blocks\.(\d+)\.(.*)$)");
    std::smatch m;
    if (starts(rest, "patch_embed.proj.")) return "embeddings.patch_embedding." + rest.substr(17);
    if (rest == "pos_embed") return "embeddings.position_embedding.weight";
    if (starts(rest, "norm.")) return "post_layernorm." + rest.substr(5);
    if (std::regex_match(rest, m, block)) {
        std::string tail = m[2];
        if (starts(tail, "norm1.")) tail = "layer_norm1." + tail.substr(6);
        else if (starts(tail, "norm2.")) tail = "layer_norm2." + tail.substr(6);
        else if (starts(tail, "attn.proj.")) tail = "self_attn.projection_layer." + tail.substr(10);
        else if (starts(tail, "attn.qkv.")) return "";  // split into q_proj/k_proj/v_proj
        return "encoder.layers." + std::string(m[1]) + "." + tail;
    }
    return "";  // attn_pool.* is dropped by the converter
}

std::string map_vq(std::string rest) {
    if (rest == "quantize.codebook_used") return "";
    if (starts(rest, "decoder.conv_blocks.")) rest = "decoder.up." + rest.substr(20);
    if (starts(rest, "encoder.conv_blocks.")) rest = "encoder.down." + rest.substr(20);
    rest = replace_all(rest, ".res.", ".block.");
    for (const char* part : {"encoder.", "decoder."}) {
        std::string p = part;
        if (starts(rest, p + "mid.0.")) rest = p + "mid.block_1." + rest.substr(p.size() + 6);
        else if (starts(rest, p + "mid.1.")) rest = p + "mid.attn_1." + rest.substr(p.size() + 6);
        else if (starts(rest, p + "mid.2.")) rest = p + "mid.block_2." + rest.substr(p.size() + 6);
    }
    return "model.vqmodel." + rest;
}

}  // namespace

std::string hf_name(const std::string& n) {
    if (starts(n, "vision_model.vision_tower.")) {
        std::string r = map_siglip(n.substr(26));
        return r.empty() ? "" : "model.vision_model." + r;
    }
    if (starts(n, "aligner.layers.0.")) return "model.aligner.fc1." + n.substr(17);
    if (starts(n, "aligner.layers.2.")) return "model.aligner.hidden_layers.0." + n.substr(17);
    if (starts(n, "gen_aligner.layers.0.")) return "model.generation_aligner.fc1." + n.substr(21);
    if (starts(n, "gen_aligner.layers.2.")) return "model.generation_aligner.hidden_layers.0." + n.substr(21);
    if (starts(n, "gen_head.output_mlp_projector.")) return "model.generation_head.proj_out." + n.substr(30);
    if (starts(n, "gen_head.vision_head.")) return "model.generation_head.vision_head." + n.substr(21);
    if (starts(n, "gen_embed.")) return "model.generation_embeddings." + n.substr(10);
    if (starts(n, "gen_vision_model.")) return map_vq(n.substr(17));
    return "";
}

Tensor WeightSource::find(const std::string& official) const {
    Tensor t = find_(official);
    if (!t.defined()) {
        std::string h = hf_name(official);
        if (!h.empty()) t = find_(h);
    }
    return t.defined() ? backend_->upload(t) : t;
}

Tensor WeightSource::require(const std::string& official, const Shape& shape) const {
    Tensor t = find(official);
    if (!t.defined()) {
        std::string h = hf_name(official);
        throw Error(source_ + ": tensor '" + official + "'" + (h.empty() ? "" : " (or '" + h + "')") +
                    " not found — is this a complete Janus checkpoint (official or transformers layout)?");
    }
    if (shape.ndim > 0 && !(t.shape() == shape))
        throw Error(source_ + ": tensor '" + official + "' has shape " + t.shape().str() + ", expected " +
                    shape.str() + " from the config — the checkpoint and its config.json disagree");
    return t;
}

}  // namespace janus::vision
