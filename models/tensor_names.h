// The central tensor-name map. For each supported architecture this lists every tensor a
// checkpoint should hold, with its shape, derived from the config (layer counts, widths):
//   - LlamaForCausalLM / Qwen2ForCausalLM: model.embed_tokens, model.layers.N.{input_layernorm,
//     self_attn.{q,k,v,o}_proj, post_attention_layernorm, mlp.{gate,up,down}_proj}, model.norm,
//     lm_head (optional when tie_word_embeddings).
//   - Janus (official names, facts §2.2): language_model.*, vision_model.vision_tower.* (SigLIP incl.
//     the unused attn_pool), aligner.layers.{0,2}, gen_vision_model.* (VQ-16 encoder, decoder,
//     quantize, quant convs), gen_embed, gen_aligner.layers.{0,2}, gen_head.{output_mlp_projector,
//     vision_head}.
//   - Janus converted by transformers (facts §2.4): the same network under model.language_model.*,
//     model.vision_model.* (qkv split into q/k/v_proj, pos_embed squeezed to [576, 1024],
//     attn_pool dropped), model.aligner.{fc1,hidden_layers.0}, model.vqmodel.* (conv_blocks -> up/
//     down, res -> block, mid.{0,1,2} -> block_1/attn_1/block_2, codebook_used dropped), ...
// Each tensor carries a "part" (lm, siglip, aligner, vq.decoder, ...) used for per-part counts, and
// transformers_to_official() maps converted names back to the official ones (with the q/k/v third
// of the fused qkv they came from) so model code can be written once against official names.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/model_config.h"

namespace janus::models {

enum class NameScheme : uint8_t { official, transformers };

struct ExpectedTensor {
    std::string name;
    std::vector<int64_t> shape;
    std::string part;       // "lm", "siglip", "siglip.attn_pool", "aligner", "vq.encoder", "vq.decoder",
                            // "vq.quantize", "gen_embed", "gen_aligner", "gen_head"
    bool optional = false;  // absence is fine (tied lm_head, unused attn_pool/codebook_used)
    bool used = true;       // read by inference (false: attn_pool, VQ encoder, codebook_used)
};

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& cfg, NameScheme scheme);

// Janus checkpoints converted by transformers use model.language_model.* / model.vqmodel.* names.
NameScheme detect_name_scheme(const ModelConfig& cfg, const std::vector<std::string>& names);

// The part a (possibly unexpected) tensor name belongs to, by prefix; "other" when none fits.
std::string tensor_part(const std::string& name, Architecture arch);

struct OfficialName {
    std::string name;   // official Janus name
    int qkv_part = -1;  // 0/1/2: this tensor is the q/k/v third (rows) of the fused official qkv
    bool squeezed = false;  // pos_embed: official shape [1, N, W], converted [N, W]
};
// Official non-LM Janus name -> its transformers-converted spelling (facts §2.4), by string rewriting;
// "" when the converter drops the tensor (attn_pool.*, quantize.codebook_used) or splits it (the
// fused SigLIP attn.qkv: ask for q_proj / k_proj / v_proj), and for names outside those parts.
std::string transformers_name(const std::string& official);
// transformers-converted Janus name -> official name (built from the config's expected lists).
std::unordered_map<std::string, OfficialName> transformers_to_official(const ModelConfig& cfg);

}  // namespace janus::models
