// Runtime dimensions of the Janus vision parts (SigLIP encoder, VQ-16 model) in the form the vision
// code uses (ints, derived sizes, validation of what it can run). config.json itself is parsed once,
// by models::parse_janus_config (models/model_config.h: official multi_modality and transformers
// "janus" spellings, the official defaults where keys are absent, facts §1.1, §1.3, §1.5).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/model_config.h"

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

// From the parsed sub-configs; `source` names the file in errors.
SiglipConfig siglip_config(const models::JanusConfig& config, const std::string& source);
VqConfig vq_config(const models::JanusConfig& config, const std::string& source);
// `config` is the whole config.json (models::parse_janus_config, then the above). Missing sub-configs
// give the official defaults.
SiglipConfig siglip_config_from_json(const nlohmann::json& config, const std::string& source);
VqConfig vq_config_from_json(const nlohmann::json& config, const std::string& source);

// Official model shapes (for `janus bench vision --synthetic`): "janus-pro-1b" / "janus-pro-7b" share
// SigLIP-L/16 and VQ-16; only the aligner output width (LM hidden 2048 / 4096) differs.
int synthetic_lm_hidden(const std::string& name);

}  // namespace janus::vision
