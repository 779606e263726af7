// Expected tensor lists per architecture and the Janus official <-> transformers name map
// (see tensor_names.h). Module trees: facts §1.3-§1.6 (SigLIP, projectors, heads), §1.5 (VQ-16),
// §2.2 (official names), §2.4 (converted names).
#include "models/tensor_names.h"

namespace janus::models {

namespace {

using Shape = std::vector<int64_t>;

struct Builder {
    std::vector<ExpectedTensor> out;
    std::string part;
    bool used = true;
    void add(const std::string& name, Shape shape, bool optional = false) {
        out.push_back({name, std::move(shape), part, optional, used});
    }
    void linear(const std::string& p, int64_t out_dim, int64_t in_dim, bool bias = true) {
        add(p + ".weight", {out_dim, in_dim});
        if (bias) add(p + ".bias", {out_dim});
    }
    void norm(const std::string& p, int64_t c) {
        add(p + ".weight", {c});
        add(p + ".bias", {c});
    }
    void conv(const std::string& p, int64_t cout, int64_t cin, int64_t k) {
        add(p + ".weight", {cout, cin, k, k});
        add(p + ".bias", {cout});
    }
};

// Llama/Qwen2 decoder: `body` is the prefix of embed_tokens/layers/norm, `head` the lm_head name.
void language_model(Builder& b, const LanguageConfig& c, const std::string& body, const std::string& head) {
    const int64_t h = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
    b.add(body + "embed_tokens.weight", {c.vocab_size, h});
    for (int64_t i = 0; i < c.num_hidden_layers; i++) {
        const std::string l = body + "layers." + std::to_string(i) + ".";
        b.add(l + "input_layernorm.weight", {h});
        b.linear(l + "self_attn.q_proj", q, h, c.qkv_bias());
        b.linear(l + "self_attn.k_proj", kv, h, c.qkv_bias());
        b.linear(l + "self_attn.v_proj", kv, h, c.qkv_bias());
        b.linear(l + "self_attn.o_proj", h, q, c.o_bias());
        b.add(l + "post_attention_layernorm.weight", {h});
        b.linear(l + "mlp.gate_proj", c.intermediate_size, h, c.mlp_bias);
        b.linear(l + "mlp.up_proj", c.intermediate_size, h, c.mlp_bias);
        b.linear(l + "mlp.down_proj", h, c.intermediate_size, c.mlp_bias);
    }
    b.add(body + "norm.weight", {h});
    b.add(head, {c.vocab_size, h}, c.tie_word_embeddings);
}

void siglip(Builder& b, const JanusVisionConfig& v) {
    const std::string p = "vision_model.vision_tower.";
    const int64_t w = v.width, m = v.mlp_dim;
    b.part = "siglip";
    b.conv(p + "patch_embed.proj", w, 3, v.patch_size);
    b.add(p + "pos_embed", {1, v.num_patches(), w});
    for (int64_t i = 0; i < v.depth; i++) {
        const std::string l = p + "blocks." + std::to_string(i) + ".";
        b.norm(l + "norm1", w);
        b.linear(l + "attn.qkv", 3 * w, w);
        b.linear(l + "attn.proj", w, w);
        b.norm(l + "norm2", w);
        b.linear(l + "mlp.fc1", m, w);
        b.linear(l + "mlp.fc2", w, m);
    }
    b.norm(p + "norm", w);
    // timm's attention-pooling head: stored in the checkpoint, never run (facts §1.3).
    b.part = "siglip.attn_pool";
    b.used = false;
    const std::string a = p + "attn_pool.";
    size_t first = b.out.size();
    b.add(a + "latent", {1, 1, w});
    b.linear(a + "q", w, w);
    b.linear(a + "kv", 2 * w, w);
    b.linear(a + "proj", w, w);
    b.norm(a + "norm", w);
    b.linear(a + "mlp.fc1", m, w);
    b.linear(a + "mlp.fc2", w, m);
    for (size_t k = first; k < b.out.size(); k++) b.out[k].optional = true;
    b.used = true;
}

void projector(Builder& b, const std::string& prefix, const MlpProjectorConfig& p) {
    b.linear(prefix + ".layers.0", p.n_embed, p.input_dim);
    for (int64_t i = 1; i < p.depth; i++) b.linear(prefix + ".layers." + std::to_string(2 * i), p.n_embed, p.n_embed);
}

// VQ-16 (LlamaGen VQModel, facts §1.5): ch 128, ch_mult [1,1,2,2,4], z 256, 2 res blocks per
// encoder level and 3 per decoder level, attention at the lowest-resolution level (the last
// encoder level, the first decoder level) and in each mid.
void vq16(Builder& b, const GenVisionConfig& g) {
    const std::string p = "gen_vision_model.";
    const int64_t ch = g.ch, z = g.z_channels;
    auto res = [&](const std::string& r, int64_t cin, int64_t cout) {
        b.norm(r + ".norm1", cin);
        b.conv(r + ".conv1", cout, cin, 3);
        b.norm(r + ".norm2", cout);
        b.conv(r + ".conv2", cout, cout, 3);
        if (cin != cout) b.conv(r + ".nin_shortcut", cout, cin, 1);
    };
    auto attn = [&](const std::string& a, int64_t c) {
        b.norm(a + ".norm", c);
        for (const char* k : {".q", ".k", ".v", ".proj_out"}) b.conv(a + k, c, c, 1);
    };
    auto mid = [&](const std::string& m, int64_t c) {
        res(m + ".0", c, c);
        attn(m + ".1", c);
        res(m + ".2", c, c);
    };
    b.part = "vq.encoder";
    b.used = false;
    {
        const std::vector<int64_t>& mult = g.encoder_ch_mult;
        const int levels = int(mult.size());
        const std::string e = p + "encoder.";
        b.conv(e + "conv_in", ch, 3, 3);
        int64_t block_in = ch;
        for (int i = 0; i < levels; i++) {
            const std::string l = e + "conv_blocks." + std::to_string(i);
            block_in = ch * (i == 0 ? 1 : mult[size_t(i - 1)]);
            const int64_t block_out = ch * mult[size_t(i)];
            for (int64_t r = 0; r < g.num_res_blocks; r++) {
                res(l + ".res." + std::to_string(r), block_in, block_out);
                block_in = block_out;
                if (i == levels - 1) attn(l + ".attn." + std::to_string(r), block_in);
            }
            if (i != levels - 1) b.conv(l + ".downsample.conv", block_in, block_in, 3);
        }
        mid(e + "mid", block_in);
        b.norm(e + "norm_out", block_in);
        b.conv(e + "conv_out", z, block_in, 3);
    }
    b.part = "vq.decoder";
    b.used = true;
    {
        const std::vector<int64_t>& mult = g.decoder_ch_mult;
        const int levels = int(mult.size());
        const std::string d = p + "decoder.";
        int64_t block_in = ch * mult.back();
        b.conv(d + "conv_in", block_in, z, 3);
        mid(d + "mid", block_in);
        for (int i = 0; i < levels; i++) {
            const std::string l = d + "conv_blocks." + std::to_string(i);
            const int64_t block_out = ch * mult[size_t(levels - 1 - i)];
            for (int64_t r = 0; r < g.num_res_blocks + 1; r++) {
                res(l + ".res." + std::to_string(r), block_in, block_out);
                block_in = block_out;
                if (i == 0) attn(l + ".attn." + std::to_string(r), block_in);
            }
            if (i != levels - 1) b.conv(l + ".upsample.conv", block_in, block_in, 3);
        }
        b.norm(d + "norm_out", block_in);
        b.conv(d + "conv_out", 3, block_in, 3);
    }
    b.part = "vq.quantize";
    b.add(p + "quantize.embedding.weight", {g.image_token_size, g.n_embed});
    b.conv(p + "quant_conv", g.n_embed, z, 1);
    b.conv(p + "post_quant_conv", z, g.n_embed, 1);
    b.used = false;
    b.add(p + "quantize.codebook_used", {65536}, /*optional=*/true);  // training statistic, fixed size
    b.used = true;
}

std::vector<ExpectedTensor> janus_official(const JanusConfig& j) {
    Builder b;
    b.part = "lm";
    language_model(b, j.language, "language_model.model.", "language_model.lm_head.weight");
    siglip(b, j.vision);
    b.part = "aligner";
    projector(b, "aligner", j.aligner);
    vq16(b, j.gen_vision);
    b.part = "gen_embed";
    b.add("gen_embed.weight", {j.gen_vision.image_token_size, j.gen_vision.n_embed});
    b.part = "gen_aligner";
    projector(b, "gen_aligner", j.gen_aligner);
    b.part = "gen_head";
    b.linear("gen_head.output_mlp_projector", j.gen_head.image_token_embed, j.gen_head.n_embed);
    b.linear("gen_head.vision_head", j.gen_head.image_token_size, j.gen_head.image_token_embed);
    return std::move(b.out);
}

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
    return s;
}

// Projector "layers.0" -> "fc1", "layers.2k" -> "hidden_layers.(k-1)".
std::string projector_rename(const std::string& rest) {
    // rest = "layers.<n>.<param>"
    size_t dot = rest.find('.', 7);
    if (dot == std::string::npos || dot == 7 || rest.find_first_not_of("0123456789", 7) != dot) return "";
    int n = std::stoi(rest.substr(7, dot - 7));
    std::string param = rest.substr(dot);
    return n == 0 ? "fc1" + param : "hidden_layers." + std::to_string(n / 2 - 1) + param;
}

// Official non-LM Janus tensor -> its transformers name(s) and shape(s); empty when dropped. The
// names come from transformers_name(); the fused SigLIP qkv (split into q/k/v rows) and pos_embed
// ([1, N, W] squeezed to [N, W]) also change shape.
std::vector<std::pair<ExpectedTensor, OfficialName>> to_transformers(const ExpectedTensor& e) {
    std::vector<std::pair<ExpectedTensor, OfficialName>> out;
    auto emit = [&](const std::string& name, Shape shape, int qkv = -1, bool squeezed = false) {
        ExpectedTensor t = e;
        t.name = name;
        t.shape = std::move(shape);
        out.push_back({t, OfficialName{e.name, qkv, squeezed}});
    };
    const std::string& n = e.name;
    const std::string vt = "vision_model.vision_tower.";
    if (starts_with(n, vt) && n.find(".attn.qkv.") != std::string::npos) {
        const std::string rest = n.substr(vt.size());
        const size_t dot = rest.find('.', 7);
        const std::string layer = "model.vision_model.encoder.layers." + rest.substr(7, dot - 7) + ".self_attn.";
        const std::string param = rest.substr(rest.find(".attn.qkv.") + 10);
        Shape third = e.shape;
        third[0] /= 3;
        const char* qkv[3] = {"q_proj.", "k_proj.", "v_proj."};
        for (int k = 0; k < 3; k++) emit(layer + qkv[k] + param, third, k);
        return out;
    }
    const std::string name = transformers_name(n);
    if (name.empty()) return out;
    if (n == vt + "pos_embed") emit(name, {e.shape[1], e.shape[2]}, -1, true);
    else emit(name, e.shape);
    return out;
}

}  // namespace

std::string transformers_name(const std::string& n) {
    const std::string vt = "vision_model.vision_tower.";
    if (starts_with(n, vt)) {
        const std::string rest = n.substr(vt.size());
        const std::string mv = "model.vision_model.";
        if (starts_with(rest, "attn_pool.")) return "";  // dropped by the converter
        if (rest == "pos_embed") return mv + "embeddings.position_embedding.weight";
        if (starts_with(rest, "patch_embed.proj.")) return mv + "embeddings.patch_embedding." + rest.substr(17);
        if (starts_with(rest, "norm.")) return mv + "post_layernorm." + rest.substr(5);
        if (!starts_with(rest, "blocks.")) return "";
        const size_t dot = rest.find('.', 7);
        if (dot == std::string::npos) return "";
        const std::string layer = mv + "encoder.layers." + rest.substr(7, dot - 7) + ".";
        const std::string sub = rest.substr(dot + 1);
        if (starts_with(sub, "attn.qkv.")) return "";  // split into q_proj / k_proj / v_proj
        if (starts_with(sub, "attn.proj.")) return layer + "self_attn.projection_layer." + sub.substr(10);
        if (starts_with(sub, "norm1.")) return layer + "layer_norm1." + sub.substr(6);
        if (starts_with(sub, "norm2.")) return layer + "layer_norm2." + sub.substr(6);
        return layer + sub;
    }
    if (starts_with(n, "aligner.layers.")) {
        const std::string r = projector_rename(n.substr(8));
        return r.empty() ? "" : "model.aligner." + r;
    }
    if (starts_with(n, "gen_aligner.layers.")) {
        const std::string r = projector_rename(n.substr(12));
        return r.empty() ? "" : "model.generation_aligner." + r;
    }
    if (starts_with(n, "gen_head.output_mlp_projector.")) return "model.generation_head.proj_out." + n.substr(30);
    if (starts_with(n, "gen_head.vision_head.")) return "model.generation_head.vision_head." + n.substr(21);
    if (starts_with(n, "gen_embed.")) return "model.generation_embeddings." + n.substr(10);
    if (starts_with(n, "gen_vision_model.")) {
        std::string rest = n.substr(17);
        if (rest == "quantize.codebook_used") return "";  // dropped by the converter
        rest = replace_all(rest, "decoder.conv_blocks.", "decoder.up.");
        rest = replace_all(rest, "encoder.conv_blocks.", "encoder.down.");
        rest = replace_all(rest, ".res.", ".block.");
        rest = replace_all(rest, "mid.0.", "mid.block_1.");
        rest = replace_all(rest, "mid.1.", "mid.attn_1.");
        rest = replace_all(rest, "mid.2.", "mid.block_2.");
        return "model.vqmodel." + rest;
    }
    return "";
}

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& cfg, NameScheme scheme) {
    if (cfg.architecture != Architecture::janus) {
        Builder b;
        b.part = "lm";
        language_model(b, cfg.language, "model.", "lm_head.weight");
        return std::move(b.out);
    }
    std::vector<ExpectedTensor> official = janus_official(*cfg.janus);
    if (scheme == NameScheme::official) return official;
    Builder b;
    b.part = "lm";
    language_model(b, cfg.janus->language, "model.language_model.", "lm_head.weight");
    for (const ExpectedTensor& e : official) {
        if (e.part == "lm") continue;
        for (auto& [t, o] : to_transformers(e)) b.out.push_back(std::move(t));
    }
    return std::move(b.out);
}

std::unordered_map<std::string, OfficialName> transformers_to_official(const ModelConfig& cfg) {
    std::unordered_map<std::string, OfficialName> map;
    if (cfg.architecture != Architecture::janus) return map;
    for (const ExpectedTensor& e : janus_official(*cfg.janus)) {
        if (e.part == "lm") {
            std::string hf = starts_with(e.name, "language_model.model.")
                                 ? "model.language_model." + e.name.substr(21)
                                 : std::string("lm_head.weight");
            map[hf] = OfficialName{e.name, -1, false};
            continue;
        }
        for (auto& [t, o] : to_transformers(e)) map[t.name] = o;
    }
    return map;
}

NameScheme detect_name_scheme(const ModelConfig& cfg, const std::vector<std::string>& names) {
    if (cfg.architecture != Architecture::janus) return NameScheme::official;
    size_t official = 0, converted = 0;
    for (const std::string& n : names) {
        if (starts_with(n, "language_model.") || starts_with(n, "gen_vision_model.") || starts_with(n, "vision_model."))
            official++;
        if (starts_with(n, "model.language_model.") || starts_with(n, "model.vqmodel.") || starts_with(n, "model.vision_model."))
            converted++;
    }
    if (official == 0 && converted == 0) return cfg.janus->transformers_format ? NameScheme::transformers : NameScheme::official;
    return converted > official ? NameScheme::transformers : NameScheme::official;
}

std::string tensor_part(const std::string& name, Architecture arch) {
    if (arch != Architecture::janus) return starts_with(name, "model.") || name == "lm_head.weight" ? "lm" : "other";
    static const std::pair<const char*, const char*> prefixes[] = {
        {"language_model.", "lm"},
        {"model.language_model.", "lm"},
        {"lm_head.", "lm"},
        {"vision_model.vision_tower.attn_pool.", "siglip.attn_pool"},
        {"vision_model.", "siglip"},
        {"model.vision_model.", "siglip"},
        {"aligner.", "aligner"},
        {"model.aligner.", "aligner"},
        {"gen_vision_model.encoder.", "vq.encoder"},
        {"model.vqmodel.encoder.", "vq.encoder"},
        {"gen_vision_model.decoder.", "vq.decoder"},
        {"model.vqmodel.decoder.", "vq.decoder"},
        {"gen_vision_model.", "vq.quantize"},
        {"model.vqmodel.", "vq.quantize"},
        {"gen_embed.", "gen_embed"},
        {"model.generation_embeddings.", "gen_embed"},
        {"gen_aligner.", "gen_aligner"},
        {"model.generation_aligner.", "gen_aligner"},
        {"gen_head.", "gen_head"},
        {"model.generation_head.", "gen_head"},
    };
    for (auto& [p, part] : prefixes)
        if (starts_with(name, p)) return part;
    return "other";
}

}  // namespace janus::models
