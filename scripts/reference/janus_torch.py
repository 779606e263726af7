"""Independent PyTorch reference implementation of the Janus-Pro model family and of the
Llama / Qwen2 text decoders, written from ../shared/reference/janus-facts.md (section numbers cited).

It is the numerical reference the C++ tests compare against (goldens under tests/data/golden/) and the
model code the tiny "janus-shapes" training script imports. No transformers, no timm: only torch 1.13.

Modules (state-dict names are the OFFICIAL ones, facts §2.2):
  LlamaForCausalLM        model.embed_tokens [V,H], model.layers.N.{self_attn.{q,k,v,o}_proj, mlp.{gate,up,
                          down}_proj, input_layernorm, post_attention_layernorm}, model.norm, lm_head [V,H].
                          GQA, optional q/k/v biases (Qwen2), tied embeddings, RoPE rotate-half with
                          optional bf16-rounded inv_freq and rope_scaling "llama3" (facts §6.1).
  VisionTransformer       SigLIP (facts §1.3, §6.2): patch_embed.proj, pos_embed [1,N,W], blocks.N.*, norm,
                          optional unused attn_pool.* ; input [B,3,S,S] -> [B,N,W], N = (S/patch)^2.
  MlpProjector            aligner / gen_aligner: layers.0 Linear, layers.2 Linear, GELU(erf) between.
  VisionHead              gen_head.output_mlp_projector, gen_head.vision_head.
  VQModel                 LlamaGen VQ-16 (facts §1.5, §6.4): encoder, decoder, quant_conv, post_quant_conv,
                          quantize.embedding [K,D] (L2-normalised at use), quantize.codebook_used buffer.
  MultiModalityCausalLM   the container: language_model, vision_model.vision_tower, aligner,
                          gen_vision_model, gen_embed, gen_aligner, gen_head (facts §1.1).

Functions: understanding embeddings (splice, facts §4.2), preprocessing with PIL (facts §4.1), the official
CFG generation loop (facts §5), VQ decode -> uint8 (truncation, facts §5.5), VQ encode -> codes, config.json
writers (multi_modality / LlamaForCausalLM / Qwen2ForCausalLM), checkpoint writers (safetensors written by
hand, sharded index json, torch.save .bin), and the name map to the transformers-converted layout (§2.4).

Dtype policy: a module runs in the dtype of its parameters. "bf16 mode" = model.to(torch.bfloat16), which
(like the official scripts) also rounds the RoPE inv_freq buffer to bf16; set_rope_exact(model, True)
restores exact fp32 frequencies. Pixels are cast to the vision tower's dtype (facts §6.6).
"""
from __future__ import annotations

import copy
import json
import math
import os
import struct
from dataclasses import dataclass, field, asdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------------
# Language model configuration (transformers defaults applied for absent keys, facts §1.2)
# ---------------------------------------------------------------------------------------------------

LLAMA_DEFAULTS = dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                      num_attention_heads=32, num_key_value_heads=None, head_dim=None, hidden_act="silu",
                      max_position_embeddings=2048, rms_norm_eps=1e-6, rope_theta=10000.0,
                      rope_scaling=None, attention_bias=False, mlp_bias=False, tie_word_embeddings=False,
                      bos_token_id=1, eos_token_id=2, pad_token_id=None)
QWEN2_DEFAULTS = dict(LLAMA_DEFAULTS, vocab_size=151936, intermediate_size=22016,
                      max_position_embeddings=32768, bos_token_id=None, eos_token_id=None)


@dataclass
class LMConfig:
    arch: str = "llama"                 # "llama" | "qwen2"
    vocab_size: int = 32000
    hidden_size: int = 4096
    intermediate_size: int = 11008
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: int = 32
    head_dim: int = 128
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    rope_scaling: Optional[dict] = None
    qkv_bias: bool = False              # Qwen2: True; Llama: attention_bias
    o_bias: bool = False                # Llama attention_bias also biases o_proj; Qwen2 never
    mlp_bias: bool = False
    tie_word_embeddings: bool = False
    max_position_embeddings: int = 2048
    bos_token_id: Optional[int] = 1
    eos_token_id: Optional[int] = 2
    pad_token_id: Optional[int] = None

    @staticmethod
    def from_hf_dict(d: dict, arch: Optional[str] = None) -> "LMConfig":
        """Parse a LlamaForCausalLM / Qwen2ForCausalLM config.json (or Janus language_config)."""
        if arch is None:
            mt = d.get("model_type", "llama")
            arch = "qwen2" if mt == "qwen2" else "llama"
        base = dict(QWEN2_DEFAULTS if arch == "qwen2" else LLAMA_DEFAULTS)
        base.update({k: v for k, v in d.items() if k in base})
        heads = base["num_attention_heads"]
        kvh = base["num_key_value_heads"] or heads
        hd = base["head_dim"] or base["hidden_size"] // heads
        ab = bool(base["attention_bias"])
        return LMConfig(arch=arch, vocab_size=base["vocab_size"], hidden_size=base["hidden_size"],
                        intermediate_size=base["intermediate_size"],
                        num_hidden_layers=base["num_hidden_layers"], num_attention_heads=heads,
                        num_key_value_heads=kvh, head_dim=hd, rms_norm_eps=base["rms_norm_eps"],
                        rope_theta=float(base["rope_theta"]), rope_scaling=base["rope_scaling"],
                        qkv_bias=(arch == "qwen2") or ab, o_bias=(arch != "qwen2") and ab,
                        mlp_bias=bool(base["mlp_bias"]), tie_word_embeddings=bool(base["tie_word_embeddings"]),
                        max_position_embeddings=base["max_position_embeddings"],
                        bos_token_id=base["bos_token_id"], eos_token_id=base["eos_token_id"],
                        pad_token_id=base["pad_token_id"])

    def to_hf_dict(self, torch_dtype: str = "float32") -> dict:
        """Every key written explicitly (no reliance on defaults)."""
        d = dict(vocab_size=self.vocab_size, hidden_size=self.hidden_size,
                 intermediate_size=self.intermediate_size, num_hidden_layers=self.num_hidden_layers,
                 num_attention_heads=self.num_attention_heads, num_key_value_heads=self.num_key_value_heads,
                 hidden_act="silu", max_position_embeddings=self.max_position_embeddings,
                 rms_norm_eps=self.rms_norm_eps, rope_theta=self.rope_theta, rope_scaling=self.rope_scaling,
                 tie_word_embeddings=self.tie_word_embeddings, bos_token_id=self.bos_token_id,
                 eos_token_id=self.eos_token_id, torch_dtype=torch_dtype)
        if self.pad_token_id is not None:
            d["pad_token_id"] = self.pad_token_id
        if self.arch == "qwen2":
            d.update(model_type="qwen2", architectures=["Qwen2ForCausalLM"], use_sliding_window=False,
                     sliding_window=None, max_window_layers=self.num_hidden_layers)
        else:
            d.update(model_type="llama", architectures=["LlamaForCausalLM"], attention_bias=self.o_bias,
                     mlp_bias=self.mlp_bias, head_dim=self.head_dim)
        return d


# ---------------------------------------------------------------------------------------------------
# Llama-family decoder (facts §6.1)
# ---------------------------------------------------------------------------------------------------

class RMSNorm(nn.Module):
    """y = weight * (x32 * rsqrt(mean(x32^2) + eps)).to(x.dtype): cast back BEFORE the weight multiply."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x32 = x.to(torch.float32)
        var = x32.pow(2).mean(-1, keepdim=True)
        y = x32 * torch.rsqrt(var + self.eps)
        return self.weight * y.to(dt)


def rope_inv_freq(cfg: LMConfig) -> torch.Tensor:
    """Exact fp32 inverse frequencies [head_dim/2], with optional rope_scaling type "llama3"."""
    d = cfg.head_dim
    inv = 1.0 / (cfg.rope_theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    rs = cfg.rope_scaling
    if rs:
        kind = rs.get("rope_type", rs.get("type"))
        if kind == "llama3":
            factor = float(rs["factor"])
            lo = float(rs["low_freq_factor"])
            hi = float(rs["high_freq_factor"])
            old = float(rs["original_max_position_embeddings"])
            lo_wl, hi_wl = old / lo, old / hi
            wavelen = 2 * math.pi / inv
            scaled = torch.where(wavelen > lo_wl, inv / factor, inv)
            smooth = (old / wavelen - lo) / (hi - lo)
            smoothed = (1 - smooth) * scaled / factor + smooth * scaled
            medium = ~(wavelen < hi_wl) * ~(wavelen > lo_wl)
            inv = torch.where(medium, smoothed, scaled)
        elif kind not in (None, "default"):
            raise ValueError(f"rope_scaling type {kind!r} not supported by the reference")
    return inv


class RotaryEmbedding(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.cfg = cfg
        # Non-persistent buffer: not in the state dict (facts §2.2), but cast by .to(dtype) like HF's.
        self.register_buffer("inv_freq", rope_inv_freq(cfg), persistent=False)

    def forward(self, dtype, position_ids):
        """position_ids [B,T] -> cos, sin [B,T,head_dim] in `dtype` (angles computed in fp32)."""
        inv = self.inv_freq.float()
        freqs = position_ids.float()[:, :, None] * inv[None, None, :]
        emb = torch.cat([freqs, freqs], dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)


def set_rope_exact(model: nn.Module, exact: bool):
    """exact=True: fp32 exact inv_freq; False: bf16-rounded (what .to(bfloat16) does in the official runs)."""
    for m in model.modules():
        if isinstance(m, RotaryEmbedding):
            inv = rope_inv_freq(m.cfg)
            m.inv_freq = inv if exact else inv.to(torch.bfloat16)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class LlamaAttention(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.cfg = cfg
        H, hd = cfg.hidden_size, cfg.head_dim
        self.q_proj = nn.Linear(H, cfg.num_attention_heads * hd, bias=cfg.qkv_bias)
        self.k_proj = nn.Linear(H, cfg.num_key_value_heads * hd, bias=cfg.qkv_bias)
        self.v_proj = nn.Linear(H, cfg.num_key_value_heads * hd, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(cfg.num_attention_heads * hd, H, bias=cfg.o_bias)

    def forward(self, x, cos, sin, mask, cache: Optional[Tuple[torch.Tensor, torch.Tensor]]):
        """x [B,T,H]; cos/sin [B,T,hd]; mask additive [B,1,T,S] (S = past + T); returns out, (k, v)."""
        c = self.cfg
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, c.num_attention_heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, T, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, T, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        cos_, sin_ = cos[:, None], sin[:, None]
        q = (q * cos_) + (rotate_half(q) * sin_)
        k = (k * cos_) + (rotate_half(k) * sin_)
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        new_cache = (k, v)
        rep = c.num_attention_heads // c.num_key_value_heads
        if rep > 1:  # GQA: kv head j serves query heads j*rep .. j*rep+rep-1
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        # Eager path (facts §6.1): scores in the activation dtype, fp32 softmax, cast back, times V.
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(c.head_dim)
        scores = scores + mask
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, -1)
        return self.o_proj(out), new_cache


class LlamaMLP(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        H, I = cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = nn.Linear(H, I, bias=cfg.mlp_bias)
        self.up_proj = nn.Linear(H, I, bias=cfg.mlp_bias)
        self.down_proj = nn.Linear(I, H, bias=cfg.mlp_bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.self_attn = LlamaAttention(cfg)
        self.mlp = LlamaMLP(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, x, cos, sin, mask, cache):
        a, new_cache = self.self_attn(self.input_layernorm(x), cos, sin, mask, cache)
        h = x + a
        return h + self.mlp(self.post_attention_layernorm(h)), new_cache


class LlamaModel(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([LlamaDecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.rotary_emb = RotaryEmbedding(cfg)

    def forward(self, input_ids=None, inputs_embeds=None, position_ids=None, attention_mask=None,
                past_key_values=None):
        """input_ids [B,T] or inputs_embeds [B,T,H]; attention_mask [B,S] of 1/0 over past+current
        (left padding; None = all ones); returns final-RMSNorm-ed hidden [B,T,H] and the new cache
        (list of (k [B,kvh,S,hd], v) per layer)."""
        x = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds
        B, T, _ = x.shape
        past = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        S = past + T
        if position_ids is None:
            if attention_mask is None:
                position_ids = torch.arange(past, S, dtype=torch.long)[None].expand(B, T)
            else:  # HF generate: cumsum(mask) - 1, pads get position 1
                pos = attention_mask.long().cumsum(-1) - 1
                pos = pos.masked_fill(attention_mask == 0, 1)
                position_ids = pos[:, past:S]
        dt = x.dtype
        neg = torch.finfo(dt).min
        causal = torch.ones(T, S, dtype=torch.bool).tril(diagonal=past)
        allowed = causal[None, None].expand(B, 1, T, S)
        if attention_mask is not None:
            allowed = allowed & attention_mask.bool()[:, None, None, :]
        mask = torch.zeros(B, 1, T, S, dtype=dt).masked_fill(~allowed, neg)
        cos, sin = self.rotary_emb(dt, position_ids)
        new_cache = []
        for i, layer in enumerate(self.layers):
            x, c = layer(x, cos, sin, mask, None if past_key_values is None else past_key_values[i])
            new_cache.append(c)
        return self.norm(x), new_cache


class LlamaForCausalLM(nn.Module):
    """LlamaForCausalLM / Qwen2ForCausalLM. Logits are computed in the activation dtype, returned as fp32."""

    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.cfg = cfg
        self.model = LlamaModel(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def get_input_embeddings(self):
        return self.model.embed_tokens

    def forward(self, input_ids=None, inputs_embeds=None, position_ids=None, attention_mask=None,
                past_key_values=None):
        h, cache = self.model(input_ids, inputs_embeds, position_ids, attention_mask, past_key_values)
        return self.lm_head(h).float(), cache, h

    def export_state_dict(self) -> Dict[str, torch.Tensor]:
        """HF-layout state dict; the tied lm_head.weight is omitted (as save_pretrained does)."""
        sd = {k: v for k, v in self.state_dict().items()}
        if self.cfg.tie_word_embeddings:
            sd.pop("lm_head.weight", None)
        return sd


@torch.no_grad()
def greedy_generate(lm: LlamaForCausalLM, prompt_ids: Sequence[int], max_new_tokens: int,
                    eos_token_id: Optional[int] = None, inputs_embeds: Optional[torch.Tensor] = None):
    """Greedy decoding of ONE row with KV cache. Returns (tokens [N], step_logits [N,V] fp32), where
    step_logits[i] is the distribution that produced tokens[i] (step 0 = prefill last position).
    inputs_embeds [1,T,H] overrides the embedding lookup for the prompt (understanding)."""
    if inputs_embeds is None:
        logits, cache, _ = lm(input_ids=torch.tensor([list(prompt_ids)], dtype=torch.long))
    else:
        logits, cache, _ = lm(inputs_embeds=inputs_embeds)
    tokens, step_logits = [], []
    last = logits[0, -1]
    for _ in range(max_new_tokens):
        step_logits.append(last.clone())
        t = int(torch.argmax(last))  # torch.argmax returns the first maximal index (lowest id)
        tokens.append(t)
        if eos_token_id is not None and t == eos_token_id:
            break
        logits, cache, _ = lm(input_ids=torch.tensor([[t]], dtype=torch.long), past_key_values=cache)
        last = logits[0, -1]
    return np.array(tokens, dtype=np.int64), torch.stack(step_logits).numpy().astype(np.float32)


# ---------------------------------------------------------------------------------------------------
# SigLIP vision tower (facts §1.3, §6.2)
# ---------------------------------------------------------------------------------------------------

@dataclass
class VisionConfig:
    image_size: int = 384
    patch_size: int = 16
    width: int = 1024
    layers: int = 24          # blocks in the full model; select_layer truncates (facts §1.3)
    heads: int = 16
    mlp_ratio: float = 4.0
    select_layer: int = -1
    with_attn_pool: bool = True   # official checkpoints carry unused attn_pool.* weights
    model_name: str = "siglip_large_patch16_384"

    def depth(self) -> int:
        k = self.select_layer
        return min(self.layers + k + 1, self.layers) if k <= 0 else k

    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact erf GELU (facts §6.2)


class SiglipAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)   # rows: q, k, v blocks; head h owns rows h*hd.. (facts §2.3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        hd = C // self.heads
        qkv = self.qkv(x).view(B, N, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = torch.matmul(q, k.transpose(-2, -1)) * (hd ** -0.5)
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(B, N, C)
        return self.proj(out)


class SiglipBlock(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = SiglipAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # [B, N, W], row-major over the grid


class AttentionPoolLatent(nn.Module):
    """Present in official checkpoints, never run (facts §1.3). Only here so the weights exist."""

    def __init__(self, dim, mlp_ratio):
        super().__init__()
        self.latent = nn.Parameter(torch.zeros(1, 1, dim))
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))


class VisionTransformer(nn.Module):
    def __init__(self, cfg: VisionConfig):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.width)
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.num_patches(), cfg.width))
        self.blocks = nn.ModuleList([SiglipBlock(cfg.width, cfg.heads, cfg.mlp_ratio)
                                     for _ in range(cfg.depth())])
        self.norm = nn.LayerNorm(cfg.width, eps=1e-6)
        if cfg.with_attn_pool:
            self.attn_pool = AttentionPoolLatent(cfg.width, cfg.mlp_ratio)

    def forward(self, pixels):
        """pixels [B,3,S,S] (already normalised to [-1,1]) -> final-LayerNorm-ed tokens [B,N,W]."""
        x = self.patch_embed(pixels.to(self.pos_embed.dtype)) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)


class CLIPVisionTower(nn.Module):
    def __init__(self, cfg: VisionConfig):
        super().__init__()
        self.vision_tower = VisionTransformer(cfg)

    def forward(self, pixels):
        return self.vision_tower(pixels)


# ---------------------------------------------------------------------------------------------------
# Aligners and generation head (facts §1.4, §1.6, §6.3)
# ---------------------------------------------------------------------------------------------------

class MlpProjector(nn.Module):
    def __init__(self, input_dim, n_embed):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(input_dim, n_embed), nn.GELU(), nn.Linear(n_embed, n_embed))

    def forward(self, x):
        return self.layers(x)


class VisionHead(nn.Module):
    def __init__(self, n_embed, image_token_embed, image_token_size):
        super().__init__()
        self.output_mlp_projector = nn.Linear(n_embed, image_token_embed)
        self.vision_head = nn.Linear(image_token_embed, image_token_size)

    def forward(self, x):
        return self.vision_head(F.gelu(self.output_mlp_projector(x)))


# ---------------------------------------------------------------------------------------------------
# VQ-16 (LlamaGen VQModel; facts §1.5, §6.4)
# ---------------------------------------------------------------------------------------------------

@dataclass
class VQConfig:
    codebook_size: int = 16384
    codebook_embed_dim: int = 8
    z_channels: int = 256
    ch: int = 128
    encoder_ch_mult: List[int] = field(default_factory=lambda: [1, 1, 2, 2, 4])
    decoder_ch_mult: List[int] = field(default_factory=lambda: [1, 1, 2, 2, 4])
    num_res_blocks: int = 2        # encoder blocks per level; the decoder uses num_res_blocks + 1
    image_size: int = 384          # generation image size (codes grid = image_size / 2^(levels-1))

    def downsample(self) -> int:
        return 2 ** (len(self.decoder_ch_mult) - 1)

    def grid(self) -> int:
        return self.image_size // self.downsample()


def Normalize(c):
    return nn.GroupNorm(num_groups=32, num_channels=c, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1 = Normalize(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm2 = Normalize(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1, 1, 0)

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        if hasattr(self, "nin_shortcut"):
            x = self.nin_shortcut(x)
        return x + h


class AttnBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = Normalize(c)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x):
        h_ = self.norm(x)
        q, k, v = self.q(h_), self.k(h_), self.v(h_)
        b, c, hh, ww = q.shape
        q = q.reshape(b, c, hh * ww).permute(0, 2, 1)       # [b, hw, c]
        k = k.reshape(b, c, hh * ww)                         # [b, c, hw]
        w_ = torch.bmm(q, k) * (int(c) ** (-0.5))            # [b, hw(query), hw(key)]
        w_ = F.softmax(w_, dim=2)
        v = v.reshape(b, c, hh * ww)
        h_ = torch.bmm(v, w_.permute(0, 2, 1)).reshape(b, c, hh, ww)
        return x + self.proj_out(h_)


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        if x.dtype == torch.bfloat16:  # the reference interpolates non-fp32 input in fp32 and casts to bf16
            x = F.interpolate(x.to(torch.float), scale_factor=2.0, mode="nearest").to(torch.bfloat16)
        else:  # (facts §6.6; it breaks fp16 — here any other dtype stays as is, nearest copy is exact)
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x)


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0))


class Encoder(nn.Module):
    def __init__(self, cfg: VQConfig):
        super().__init__()
        mult = cfg.encoder_ch_mult
        self.n_levels, self.nrb = len(mult), cfg.num_res_blocks
        self.conv_in = nn.Conv2d(3, cfg.ch, 3, 1, 1)
        in_mult = (1,) + tuple(mult)
        self.conv_blocks = nn.ModuleList()
        block_in = cfg.ch
        for i in range(self.n_levels):
            blk = nn.Module()
            blk.res, blk.attn = nn.ModuleList(), nn.ModuleList()
            block_in, block_out = cfg.ch * in_mult[i], cfg.ch * mult[i]
            for _ in range(self.nrb):
                blk.res.append(ResnetBlock(block_in, block_out))
                block_in = block_out
                if i == self.n_levels - 1:
                    blk.attn.append(AttnBlock(block_in))
            if i != self.n_levels - 1:
                blk.downsample = Downsample(block_in)
            self.conv_blocks.append(blk)
        self.mid = nn.ModuleList([ResnetBlock(block_in, block_in), AttnBlock(block_in),
                                  ResnetBlock(block_in, block_in)])
        self.norm_out = Normalize(block_in)
        self.conv_out = nn.Conv2d(block_in, cfg.z_channels, 3, 1, 1)

    def forward(self, x):
        h = self.conv_in(x)
        for i, blk in enumerate(self.conv_blocks):
            for j in range(self.nrb):
                h = blk.res[j](h)
                if len(blk.attn) > 0:
                    h = blk.attn[j](h)
            if i != self.n_levels - 1:
                h = blk.downsample(h)
        for m in self.mid:
            h = m(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, cfg: VQConfig):
        super().__init__()
        mult = cfg.decoder_ch_mult
        self.n_levels, self.nrb = len(mult), cfg.num_res_blocks + 1
        block_in = cfg.ch * mult[-1]
        self.conv_in = nn.Conv2d(cfg.z_channels, block_in, 3, 1, 1)
        self.mid = nn.ModuleList([ResnetBlock(block_in, block_in), AttnBlock(block_in),
                                  ResnetBlock(block_in, block_in)])
        self.conv_blocks = nn.ModuleList()
        for i in range(self.n_levels):
            blk = nn.Module()
            blk.res, blk.attn = nn.ModuleList(), nn.ModuleList()
            block_out = cfg.ch * mult[self.n_levels - i - 1]
            for _ in range(self.nrb):
                blk.res.append(ResnetBlock(block_in, block_out))
                block_in = block_out
                if i == 0:
                    blk.attn.append(AttnBlock(block_in))
            if i != self.n_levels - 1:
                blk.upsample = Upsample(block_in)
            self.conv_blocks.append(blk)
        self.norm_out = Normalize(block_in)
        self.conv_out = nn.Conv2d(block_in, 3, 3, 1, 1)

    def forward(self, z):
        h = self.conv_in(z)
        for m in self.mid:
            h = m(h)
        for i, blk in enumerate(self.conv_blocks):
            for j in range(self.nrb):
                h = blk.res[j](h)
                if len(blk.attn) > 0:
                    h = blk.attn[j](h)
            if i != self.n_levels - 1:
                h = blk.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class VectorQuantizer(nn.Module):
    def __init__(self, n_e, e_dim):
        super().__init__()
        self.e_dim = e_dim
        self.embedding = nn.Embedding(n_e, e_dim)
        self.register_buffer("codebook_used", torch.zeros(65536))

    def normalized_codebook(self):
        return F.normalize(self.embedding.weight, p=2, dim=-1)  # x / max(||x||, 1e-12)

    def forward(self, z):
        """z [B,D,h,w] -> (z_q straight-through [B,D,h,w], indices [B,h*w], distances [B*h*w,K])."""
        B, D, hh, ww = z.shape
        z = z.permute(0, 2, 3, 1).contiguous()
        zf = F.normalize(z.reshape(-1, D), p=2, dim=-1)
        z = F.normalize(z, p=2, dim=-1)
        emb = self.normalized_codebook()
        d = (zf ** 2).sum(1, keepdim=True) + (emb ** 2).sum(1) - 2 * zf @ emb.t()
        idx = torch.argmin(d, dim=1)
        z_q = emb[idx].view(z.shape)
        z_q = z + (z_q - z).detach()
        return z_q.permute(0, 3, 1, 2).contiguous(), idx.view(B, hh * ww), d

    def get_codebook_entry(self, codes, grid_h, grid_w):
        """codes [B, h*w] (row-major) -> [B, D, h, w] of L2-normalised codebook rows."""
        z = self.normalized_codebook()[codes.long()]
        return z.reshape(codes.shape[0], grid_h, grid_w, self.e_dim).permute(0, 3, 1, 2).contiguous()


class VQModel(nn.Module):
    def __init__(self, cfg: VQConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.quantize = VectorQuantizer(cfg.codebook_size, cfg.codebook_embed_dim)
        self.quant_conv = nn.Conv2d(cfg.z_channels, cfg.codebook_embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(cfg.codebook_embed_dim, cfg.z_channels, 1)

    def encode_continuous(self, x):
        """x [B,3,S,S] in [-1,1] -> pre-quantisation latent [B,D,h,w] (for training losses)."""
        return self.quant_conv(self.encoder(x))

    def encode(self, x):
        """x [B,3,S,S] in [-1,1] -> (z_q [B,D,h,w] straight-through, codes [B,h*w] int64, distances)."""
        return self.quantize(self.encode_continuous(x))

    def forward(self, x):
        """Reconstruction for training: returns (decoded [B,3,S,S], codes [B,h*w], pre-quant latent)."""
        h = self.encode_continuous(x)
        z_q, codes, _ = self.quantize(h)
        return self.decode(z_q), codes, h

    def decode(self, quant):
        return self.decoder(self.post_quant_conv(quant))

    def decode_code(self, codes, grid_h=None, grid_w=None):
        """codes [B, h*w] -> decoder output [B,3,S,S] (unbounded)."""
        n = codes.shape[1]
        if grid_h is None:
            grid_h = grid_w = int(round(math.sqrt(n)))
        q = self.quantize.get_codebook_entry(codes, grid_h, grid_w).to(self.post_quant_conv.weight.dtype)
        return self.decode(q)


def decoded_to_uint8(dec: torch.Tensor) -> np.ndarray:
    """[B,3,S,S] decoder output -> [B,S,S,3] uint8: fp32, (x+1)/2*255, clip, TRUNCATE (facts §5.5)."""
    a = dec.to(torch.float32).numpy().transpose(0, 2, 3, 1)
    a = np.clip((a + 1) / 2 * 255, 0, 255)
    out = np.zeros(a.shape, dtype=np.uint8)
    out[...] = a
    return out


# ---------------------------------------------------------------------------------------------------
# The multi_modality container and its config.json (facts §1.1–§1.6)
# ---------------------------------------------------------------------------------------------------

@dataclass
class JanusConfig:
    lm: LMConfig
    vision: VisionConfig
    vq: VQConfig
    aligner_input_dim: int = 1024      # = vision width
    gen_head_embed: int = 0            # image_token_embed; 0 = LM hidden

    def image_token_embed(self):
        return self.gen_head_embed or self.lm.hidden_size

    def to_hf_dict(self, torch_dtype="bfloat16") -> dict:
        """config.json in the official layout; tiny dims are explicit extra keys (see
        docs/reference-implementation.md) next to the official ones."""
        H = self.lm.hidden_size
        lang = self.lm.to_hf_dict(torch_dtype)
        lang.pop("architectures", None)
        v, q = self.vision, self.vq
        return {
            "architectures": ["MultiModalityCausalLM"],
            "model_type": "multi_modality",
            "torch_dtype": torch_dtype,
            "transformers_version": "4.33.1",
            "language_config": lang,
            "vision_config": {"cls": "CLIPVisionTower", "model_type": "vision", "params": {
                "image_size": v.image_size, "model_name": v.model_name, "select_feature": "same",
                "select_layer": v.select_layer,
                # explicit dims (extra keys; the official checkpoint derives them from model_name)
                "patch_size": v.patch_size, "width": v.width, "layers": v.layers, "heads": v.heads,
                "mlp_ratio": v.mlp_ratio}},
            "aligner_config": {"cls": "MlpProjector", "model_type": "aligner", "params": {
                "depth": 2, "input_dim": self.aligner_input_dim, "n_embed": H, "projector_type": "mlp_gelu"}},
            "gen_vision_config": {"cls": "VQ-16", "model_type": "gen_vision", "params": {
                "image_token_size": q.codebook_size, "n_embed": q.codebook_embed_dim,
                # explicit VQ dims (extra keys; official VQ_16() hard-codes them, facts §1.1)
                "codebook_size": q.codebook_size, "codebook_embed_dim": q.codebook_embed_dim,
                "z_channels": q.z_channels, "ch": q.ch, "encoder_ch_mult": list(q.encoder_ch_mult),
                "decoder_ch_mult": list(q.decoder_ch_mult), "num_res_blocks": q.num_res_blocks,
                "image_size": q.image_size}},
            "gen_aligner_config": {"cls": "MlpProjector", "model_type": "gen_aligner", "params": {
                "depth": 2, "input_dim": q.codebook_embed_dim, "n_embed": H, "projector_type": "mlp_gelu"}},
            "gen_head_config": {"cls": "vision_head", "model_type": "gen_head", "params": {
                "image_token_embed": self.image_token_embed(), "image_token_size": q.codebook_size,
                "n_embed": H}},
        }

    @staticmethod
    def from_hf_dict(d: dict) -> "JanusConfig":
        """Parse a multi_modality config.json; official defaults where the explicit keys are absent."""
        lm = LMConfig.from_hf_dict(d["language_config"], "llama")
        vp = d.get("vision_config", {}).get("params", {})
        vision = VisionConfig(image_size=vp.get("image_size", 384), patch_size=vp.get("patch_size", 16),
                              width=vp.get("width", 1024), layers=vp.get("layers", 24),
                              heads=vp.get("heads", 16), mlp_ratio=vp.get("mlp_ratio", 4.0),
                              select_layer=vp.get("select_layer", -1),
                              model_name=vp.get("model_name", "siglip_large_patch16_384"))
        gp = d.get("gen_vision_config", {}).get("params", {})
        vq = VQConfig(codebook_size=gp.get("codebook_size", gp.get("image_token_size", 16384)),
                      codebook_embed_dim=gp.get("codebook_embed_dim", gp.get("n_embed", 8)),
                      z_channels=gp.get("z_channels", 256), ch=gp.get("ch", 128),
                      encoder_ch_mult=gp.get("encoder_ch_mult", [1, 1, 2, 2, 4]),
                      decoder_ch_mult=gp.get("decoder_ch_mult", [1, 1, 2, 2, 4]),
                      num_res_blocks=gp.get("num_res_blocks", 2), image_size=gp.get("image_size", 384))
        ap = d.get("aligner_config", {}).get("params", {})
        hp = d.get("gen_head_config", {}).get("params", {})
        return JanusConfig(lm=lm, vision=vision, vq=vq, aligner_input_dim=ap.get("input_dim", vision.width),
                           gen_head_embed=hp.get("image_token_embed", lm.hidden_size))


class MultiModalityCausalLM(nn.Module):
    def __init__(self, cfg: JanusConfig):
        super().__init__()
        self.cfg = cfg
        H = cfg.lm.hidden_size
        self.language_model = LlamaForCausalLM(cfg.lm)
        self.vision_model = CLIPVisionTower(cfg.vision)
        self.aligner = MlpProjector(cfg.aligner_input_dim, H)
        self.gen_vision_model = VQModel(cfg.vq)
        self.gen_embed = nn.Embedding(cfg.vq.codebook_size, cfg.vq.codebook_embed_dim)
        self.gen_aligner = MlpProjector(cfg.vq.codebook_embed_dim, H)
        self.gen_head = VisionHead(H, cfg.image_token_embed(), cfg.vq.codebook_size)

    def prepare_gen_img_embeds(self, codes):
        """codes [N] -> gen_aligner(gen_embed(codes)) [N,H] (facts §5.4 step 4)."""
        return self.gen_aligner(self.gen_embed(codes))

    def image_features(self, pixels):
        """pixels [n,3,S,S] -> (siglip [n,N,W], aligner [n,N,H])."""
        f = self.vision_model(pixels)
        return f, self.aligner(f)

    def prepare_inputs_embeds(self, input_ids, pixels, image_token_id):
        """input_ids [1,T] already expanded (BOI + N x image id + EOI per image); pixels [n,3,S,S].
        Overwrites the positions equal to image_token_id with the aligned features, image-major."""
        emb = self.language_model.get_input_embeddings()(input_ids)
        if pixels is not None and pixels.shape[0] > 0:
            _, al = self.image_features(pixels)
            m = input_ids == image_token_id
            emb = emb.clone()
            emb[m] = al.reshape(-1, al.shape[-1]).to(emb.dtype)
        return emb


def expand_image_placeholders(ids: Sequence[int], image_token_id: int, boi: int, eoi: int,
                              n_tokens: int) -> List[int]:
    """Each occurrence of image_token_id -> [boi] + n_tokens x [image_token_id] + [eoi] (facts §4.2)."""
    out = []
    for t in ids:
        if t == image_token_id:
            out += [boi] + [image_token_id] * n_tokens + [eoi]
        else:
            out.append(t)
    return out


# ---------------------------------------------------------------------------------------------------
# Preprocessing (facts §4.1) — PIL, exactly the reference's calls
# ---------------------------------------------------------------------------------------------------

def preprocess_image(img, image_size=384, min_size=14, background=(127, 127, 127)):
    """PIL image -> (resized uint8 [h,w,3] before padding, padded uint8 [S,S,3], pixels f32 [3,S,S])."""
    from PIL import Image
    img = img.convert("RGB")
    w, h = img.size
    m = max(w, h)
    new_h = max(int(h / m * image_size), min_size)
    new_w = max(int(w / m * image_size), min_size)
    resized = img.resize((new_w, new_h), Image.BICUBIC)  # == torchvision resize(BICUBIC, antialias) on PIL
    rw, rh = resized.size
    if rw == rh:
        sq = resized
    elif rw > rh:
        sq = Image.new("RGB", (rw, rw), background)
        sq.paste(resized, (0, (rw - rh) // 2))
    else:
        sq = Image.new("RGB", (rh, rh), background)
        sq.paste(resized, ((rh - rw) // 2, 0))
    u8 = np.asarray(sq, dtype=np.uint8)
    x = (u8.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.float32(0.5)) / np.float32(0.5)
    return np.asarray(resized, dtype=np.uint8), u8, np.ascontiguousarray(x.transpose(2, 0, 1))


# ---------------------------------------------------------------------------------------------------
# Text-to-image: the official CFG loop (facts §5)
# ---------------------------------------------------------------------------------------------------

def cfg_rows(prompt_ids: Sequence[int], parallel: int, pad_id: int,
             negative_ids: Optional[Sequence[int]] = None) -> List[List[int]]:
    """2P rows, interleaved: even = conditional ids, odd = unconditional (positions 1..L-2 replaced by the
    pad id, keeping BOS and the trailing BOI) — or, with negative_ids, the negative prompt's ids."""
    rows = []
    for _ in range(parallel):
        rows.append(list(prompt_ids))
        if negative_ids is None:
            u = list(prompt_ids)
            for i in range(1, len(u) - 1):
                u[i] = pad_id
            rows.append(u)
        else:
            rows.append(list(negative_ids))
    return rows


@torch.no_grad()
def generate_image_codes(model: MultiModalityCausalLM, rows: List[List[int]], num_tokens: int,
                         cfg_weight: float = 5.0, temperature: float = 1.0, greedy: bool = True,
                         generator: Optional[torch.Generator] = None):
    """rows: 2P id lists (interleaved cond/uncond). If all rows have the same length they run as one
    batch exactly like the reference (no mask, positions 0..L-1); otherwise (negative prompt) each row
    runs alone at its own positions 0..L_r-1 (equivalent to a masked batch).
    Returns dict(codes [P,K] int32, step0_rows [2P,V] f32, cfg_logits [K,P,V] f32)."""
    lm = model.language_model
    P = len(rows) // 2
    same = len({len(r) for r in rows}) == 1
    groups = [list(range(len(rows)))] if same else [[i] for i in range(len(rows))]
    caches = [None] * len(groups)
    embeds = [lm.get_input_embeddings()(torch.tensor([rows[i] for i in g], dtype=torch.long)) for g in groups]
    codes = torch.zeros(P, num_tokens, dtype=torch.int32)
    cfg_all, step0 = [], None
    for step in range(num_tokens):
        hs = []
        for gi, g in enumerate(groups):
            h, caches[gi] = lm.model(inputs_embeds=embeds[gi], past_key_values=caches[gi])
            hs.append(h[:, -1, :])
        logits = model.gen_head(torch.cat(hs, dim=0))              # [2P, V], activation dtype
        if step == 0:
            step0 = logits.float().numpy().copy()
        cond, uncond = logits[0::2, :], logits[1::2, :]
        guided = uncond + cfg_weight * (cond - uncond)              # raw logits, no log-softmax
        cfg_all.append(guided.float().numpy().copy())
        if greedy:
            nxt = torch.argmax(guided.float(), dim=-1)
        else:
            probs = torch.softmax(guided / temperature, dim=-1)
            nxt = torch.multinomial(probs.float(), 1, generator=generator).squeeze(-1)
        codes[:, step] = nxt.to(torch.int32)
        both = torch.stack([nxt, nxt], dim=1).reshape(-1)           # cond, uncond per image
        img = model.prepare_gen_img_embeds(both)[:, None, :]        # [2P,1,H]
        embeds = [img[g] for g in groups]
    return dict(codes=codes.numpy(), step0_rows=step0, cfg_logits=np.stack(cfg_all).astype(np.float32))


# ---------------------------------------------------------------------------------------------------
# Checkpoint writers / readers
# ---------------------------------------------------------------------------------------------------

_ST_DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64",
              torch.int32: "I32"}
_ST_FROM = {v: k for k, v in _ST_DTYPES.items()}


def _tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().contiguous().cpu()
    if t.dtype in (torch.bfloat16, torch.float16):
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def save_safetensors(tensors: Dict[str, torch.Tensor], path: str, metadata: Optional[dict] = None):
    """safetensors format: u64 LE header length, JSON header {name: {dtype, shape, data_offsets}} plus
    __metadata__, padded with spaces to 8 bytes, then the raw little-endian data in header order."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name]
        b = _tensor_bytes(t)
        header[name] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path: str) -> Dict[str, torch.Tensor]:
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dt = _ST_FROM[info["dtype"]]
        raw = bytearray(data[a:b])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.empty(0, dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def save_sharded_safetensors(tensors: Dict[str, torch.Tensor], out_dir: str, n_shards: int,
                             prefix: str = "model"):
    """model-0000i-of-0000n.safetensors + model.safetensors.index.json (weight_map, metadata.total_size)."""
    names = sorted(tensors)
    chunks = [names[i::n_shards] for i in range(n_shards)]  # interleaved so every shard is non-empty
    weight_map, total = {}, 0
    for i, chunk in enumerate(chunks):
        fn = f"{prefix}-{i + 1:05d}-of-{n_shards:05d}.safetensors"
        save_safetensors({k: tensors[k] for k in chunk}, os.path.join(out_dir, fn), {"format": "pt"})
        for k in chunk:
            weight_map[k] = fn
            total += tensors[k].numel() * tensors[k].element_size()
    with open(os.path.join(out_dir, f"{prefix}.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)


def save_torch_bin(tensors: Dict[str, torch.Tensor], path: str):
    """pytorch_model.bin like the official Janus release (torch zip + pickle of an OrderedDict)."""
    from collections import OrderedDict
    torch.save(OrderedDict((k, v.detach().contiguous()) for k, v in tensors.items()), path)


def cast_state_dict(sd: Dict[str, torch.Tensor], dtype) -> Dict[str, torch.Tensor]:
    return {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in sd.items()}


def janus_state_dict(model: MultiModalityCausalLM) -> Dict[str, torch.Tensor]:
    """Official names (facts §2.2): language_model.model.*, language_model.lm_head.weight, ..."""
    sd = dict(model.state_dict())
    if model.cfg.lm.tie_word_embeddings:
        sd.pop("language_model.lm_head.weight", None)
    return sd


def to_hf_converted_names(sd: Dict[str, torch.Tensor], vision_heads: int) -> Dict[str, torch.Tensor]:
    """Official names -> transformers-converted names (facts §2.4): qkv split, pos_embed squeezed,
    attn_pool and codebook_used dropped."""
    import re
    out = {}
    for k, v in sd.items():
        if ".attn_pool." in k or k.endswith("quantize.codebook_used"):
            continue
        if k.startswith("language_model.model."):
            out["model.language_model." + k[len("language_model.model."):]] = v
            continue
        if k == "language_model.lm_head.weight":
            out["lm_head.weight"] = v
            continue
        if k.startswith("vision_model.vision_tower."):
            r = k[len("vision_model.vision_tower."):]
            base = "model.vision_model."
            if r == "pos_embed":
                out[base + "embeddings.position_embedding.weight"] = v[0]
            elif r.startswith("patch_embed.proj."):
                out[base + "embeddings.patch_embedding." + r.split(".")[-1]] = v
            elif r.startswith("norm."):
                out[base + "post_layernorm." + r.split(".")[-1]] = v
            else:
                m = re.match(r"blocks\.(\d+)\.(.*)", r)
                n, rest = m.group(1), m.group(2)
                lb = f"{base}encoder.layers.{n}."
                if rest.startswith("attn.qkv."):
                    suf = rest.split(".")[-1]
                    q, kk, vv = torch.chunk(v, 3, dim=0)
                    out[lb + "self_attn.q_proj." + suf] = q.clone()
                    out[lb + "self_attn.k_proj." + suf] = kk.clone()
                    out[lb + "self_attn.v_proj." + suf] = vv.clone()
                elif rest.startswith("attn.proj."):
                    out[lb + "self_attn.projection_layer." + rest.split(".")[-1]] = v
                elif rest.startswith("norm1."):
                    out[lb + "layer_norm1." + rest.split(".")[-1]] = v
                elif rest.startswith("norm2."):
                    out[lb + "layer_norm2." + rest.split(".")[-1]] = v
                elif rest.startswith("mlp."):
                    out[lb + rest] = v
                else:
                    raise KeyError(k)
            continue
        for a, b in (("aligner.layers.0.", "model.aligner.fc1."), ("aligner.layers.2.", "model.aligner.hidden_layers.0."),
                     ("gen_aligner.layers.0.", "model.generation_aligner.fc1."),
                     ("gen_aligner.layers.2.", "model.generation_aligner.hidden_layers.0."),
                     ("gen_head.output_mlp_projector.", "model.generation_head.proj_out."),
                     ("gen_head.vision_head.", "model.generation_head.vision_head."),
                     ("gen_embed.", "model.generation_embeddings.")):
            if k.startswith(a):
                out[b + k[len(a):]] = v
                break
        else:
            if k.startswith("gen_vision_model."):
                r = k[len("gen_vision_model."):]
                r = r.replace("decoder.conv_blocks.", "decoder.up.").replace("encoder.conv_blocks.", "encoder.down.")
                r = r.replace(".res.", ".block.")
                r = r.replace(".mid.0.", ".mid.block_1.").replace(".mid.1.", ".mid.attn_1.").replace(".mid.2.", ".mid.block_2.")
                out["model.vqmodel." + r] = v
            else:
                raise KeyError(f"no converted name for {k}")
    return out


def load_janus_bin(path: str, model: MultiModalityCausalLM):
    sd = torch.load(path, map_location="cpu")
    missing, unexpected = model.load_state_dict(sd, strict=False)
    bad = [m for m in missing if not (m == "language_model.lm_head.weight" and model.cfg.lm.tie_word_embeddings)]
    if bad or unexpected:
        raise RuntimeError(f"{path}: missing {bad}, unexpected {unexpected}")


def seeded_init_(module: nn.Module, seed: int, embed_std: float = 0.5):
    """Deterministic random init for test checkpoints (parameters visited in sorted-name order):
    embedding-like tables (embed_tokens, gen_embed, codebook, pos_embed, latent) N(0, embed_std);
    Linear/Conv weights N(0, 1/sqrt(fan_in)); norm weights 1 + U(-0.1, 0.1); biases U(-0.05, 0.05)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(module.named_parameters(), key=lambda kv: kv[0]):
            if any(s in name for s in ("embed_tokens", "gen_embed", "quantize.embedding", "pos_embed", "latent")):
                p.copy_(torch.randn(p.shape, generator=g) * embed_std)
            elif p.dim() == 1 and name.endswith("weight"):
                p.copy_(1 + (torch.rand(p.shape, generator=g) * 2 - 1) * 0.1)
            elif p.dim() == 1:
                p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * 0.05)
            else:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel()))
