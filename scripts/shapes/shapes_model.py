"""janus-shapes model definition: the Janus-Pro module tree (scripts/reference/janus_torch.py, official
tensor names, facts §1.1, §2.2) with small explicit dims.

Default dims (image size S = 64, any multiple of 16 works):
  language_model  Llama: vocab = tokenizer size rounded up to 64, hidden 192, 4 layers, 3 heads x 64,
                  SwiGLU 512, RMSNorm 1e-6, RoPE theta 10000, untied lm_head
  vision_model    SigLIP-style ViT: patch 16 on S x S -> (S/16)^2 tokens, width 128, 2 blocks, 4 heads,
                  MLP ratio 4, final LayerNorm (+ the unused attn_pool, as in the official checkpoints)
  aligner         128 -> 192 -> 192;  gen_aligner 8 -> 192 -> 192;  gen_head 192 -> 192 -> K
  gen_vision_model VQ-16 layout: ch 32, encoder_ch_mult [1,1,1,2,2] (16x down), decoder_ch_mult
                  [2,1,1,2,2] (64 channels at full resolution, so the decoder's last GroupNorm(32) has 2
                  channels per group: with 1 per group it is a per-channel instance norm that removes every
                  channel's spatial mean, i.e. the absolute colour level of a flat picture), num_res_blocks 1
                  (official: 2; encoder 1 and decoder 2 res blocks per level), z 64, codebook K = 1024 x 8
                  -> S/16 x S/16 codes per image
  gen_embed       [K, 8]
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "reference")))

import janus_torch as jt  # noqa: E402

DIMS = dict(hidden=192, layers=4, heads=3, inter=512, vit_width=128, vit_layers=2, vit_heads=4,
            vq_ch=32, vq_enc_mult=[1, 1, 1, 2, 2], vq_dec_mult=[2, 1, 1, 2, 2], vq_res_blocks=1, vq_z=64, codebook=1024, code_dim=8)


def make_config(tokenizer_len, image_size=64, bos=None, eos=None, pad=None, dims=None):
    d = dict(DIMS, **(dims or {}))
    vocab = (tokenizer_len + 63) // 64 * 64
    lm = jt.LMConfig(arch="llama", vocab_size=vocab, hidden_size=d["hidden"], intermediate_size=d["inter"],
                     num_hidden_layers=d["layers"], num_attention_heads=d["heads"],
                     num_key_value_heads=d["heads"], head_dim=d["hidden"] // d["heads"], rms_norm_eps=1e-6,
                     rope_theta=10000.0, max_position_embeddings=1024, bos_token_id=bos, eos_token_id=eos,
                     pad_token_id=pad)
    vision = jt.VisionConfig(image_size=image_size, patch_size=16, width=d["vit_width"], layers=d["vit_layers"],
                             heads=d["vit_heads"], mlp_ratio=4.0, select_layer=-1, with_attn_pool=True,
                             model_name="siglip_shapes_patch16")
    vq = jt.VQConfig(codebook_size=d["codebook"], codebook_embed_dim=d["code_dim"], z_channels=d["vq_z"],
                     ch=d["vq_ch"], encoder_ch_mult=list(d["vq_enc_mult"]), decoder_ch_mult=list(d["vq_dec_mult"]),
                     num_res_blocks=d["vq_res_blocks"], image_size=image_size)
    return jt.JanusConfig(lm=lm, vision=vision, vq=vq, aligner_input_dim=d["vit_width"], gen_head_embed=d["hidden"])


def patch_latents(vq, x, patch=16):
    """x [B,3,S,S] -> pre-quantisation latents of every 16 x 16 patch put through the VQ encoder alone
    (a [B*(S/16)^2, 3, 16, 16] batch; 16x down -> one latent each), laid out as the code grid
    [B, D, S/16, S/16]. A patch's latent depends on that patch only (whole-picture encoding mixes in context
    through the encoder's receptive field and mid-block attention)."""
    B, C, S, _ = x.shape
    g = S // patch
    p = x.unfold(2, patch, patch).unfold(3, patch, patch)             # [B,C,g,g,p,p]
    p = p.permute(0, 2, 3, 1, 4, 5).reshape(B * g * g, C, patch, patch)
    return vq.encode_continuous(p).reshape(B, g, g, -1).permute(0, 3, 1, 2)


def image_codes(vq, x, patchwise):
    """x [B,3,S,S] in [-1,1] -> image codes [B, (S/16)^2], row-major: nearest codebook rows of the
    whole-picture latents (vq.encode) or, with patchwise (train.py --vq-patchwise), of patch_latents — so
    one description always gives the same codes (a flat red patch is one code wherever it is)."""
    return vq.quantize(patch_latents(vq, x))[1] if patchwise else vq.encode(x)[1]


def count(module):
    return sum(p.numel() for p in module.parameters())


if __name__ == "__main__":
    cfg = make_config(539)
    m = jt.MultiModalityCausalLM(cfg)
    print("total params", count(m))
    for n, c in m.named_children():
        print(f"  {n:18s} {count(c):>10,d}")
