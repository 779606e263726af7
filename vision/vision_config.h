// Dimensions of the Janus vision parts, read from config.json with the official defaults where keys
// are absent (the official config only names "siglip_large_patch16_384" and VQ_16() hard-codes its
// hyper-parameters, facts §1.1, §1.3, §1.5). Recognised spellings:
//   official multi_modality: vision_config.params {image_size, patch_size, width, layers, heads,
//     mlp_ratio, select_layer}, gen_vision_config.params {codebook_size|image_token_size,
//     codebook_embed_dim|n_embed, z_channels, ch, encoder_ch_mult, decoder_ch_mult, num_res_blocks,
//     image_size} (the explicit dims are extra keys our tiny test models carry);
//   transformers janus: vision_config {hidden_size, num_hidden_layers, num_attention_heads,
//     intermediate_size, patch_size, image_size, layer_norm_eps}, vq_config {num_embeddings, embed_dim,
//     latent_channels, base_channels, channel_multiplier, num_res_blocks}.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace janus::vision {

struct SiglipConfig {
    int image_size = 384;
    int patch_size = 16;
    int width = 1024;
    int layers = 24;       // blocks in the checkpoint
    int heads = 16;
    int mlp_dim = 4096;    // width · mlp_ratio
    int select_layer = -1; // facts §1.3: k <= 0 keeps layers + k + 1 blocks, k > 0 keeps k
    float eps = 1e-6f;
    int grid() const { return image_size / patch_size; }
    int num_patches() const { return grid() * grid(); }
    int depth() const;     // blocks actually run
    void validate(const std::string& source) const;
};

struct VqConfig {
    int codebook_size = 16384;
    int embed_dim = 8;
    int z_channels = 256;
    int ch = 128;
    std::vector<int> encoder_ch_mult{1, 1, 2, 2, 4};
    std::vector<int> decoder_ch_mult{1, 1, 2, 2, 4};
    int num_res_blocks = 2;  // encoder blocks per level; the decoder runs num_res_blocks + 1
    int image_size = 384;
    int groups = 32;
    float eps = 1e-6f;
    int downsample() const { return 1 << (int(decoder_ch_mult.size()) - 1); }
    int grid() const { return image_size / downsample(); }
    void validate(const std::string& source) const;
};

// `config` is the whole config.json. Missing sub-configs give the official defaults.
SiglipConfig siglip_config_from_json(const nlohmann::json& config, const std::string& source);
VqConfig vq_config_from_json(const nlohmann::json& config, const std::string& source);

// Official model shapes (for `janus bench vision --synthetic`): "janus-pro-1b" / "janus-pro-7b" share
// SigLIP-L/16 and VQ-16; only the aligner output width (LM hidden 2048 / 4096) differs.
int synthetic_lm_hidden(const std::string& name);

}  // namespace janus::vision
