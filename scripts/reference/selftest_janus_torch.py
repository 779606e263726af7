#!/usr/bin/python3
"""Self-test of janus_torch.py against plain float64 NumPy re-derivations of the facts (no torch.nn code
shared): Llama/Qwen2 forward (GQA, biases, RoPE pairing i <-> i+d/2, llama3 frequencies), SigLIP tower,
MLP projectors, VQ decoder + encoder pieces (GroupNorm, convs, attention, up/down-sampling), the CFG loop
with KV cache vs full recomputation, and the safetensors writer round trip.

Also checks the real-dimension SigLIP-L/16 and VQ-16 trees have exactly the parameter counts of facts §2.5
(builds them: ~1.5 GB RAM, ~10 s; --skip-real-counts skips that).

Run: /usr/bin/python3 scripts/reference/selftest_janus_torch.py   (prints one line per check, exits 1 on failure)
"""
import math
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import janus_torch as jt  # noqa: E402

FAIL = []


def check(name, a, b, tol):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    err = float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))
    ok = err <= tol
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max rel {err:.2e} (tol {tol:g})")
    if not ok:
        FAIL.append(name)


def sd64(module):
    return {k: v.detach().double().numpy() for k, v in module.state_dict().items()}


# ---------------- float64 NumPy re-derivations ----------------

def np_rms(x, w, eps):
    return w * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))


def np_inv_freq(cfg):
    d = cfg.head_dim
    out = []
    for j in range(d // 2):
        f = cfg.rope_theta ** (-(2 * j) / d)
        rs = cfg.rope_scaling
        if rs:
            wl = 2 * math.pi / f
            lo_wl = rs["original_max_position_embeddings"] / rs["low_freq_factor"]
            hi_wl = rs["original_max_position_embeddings"] / rs["high_freq_factor"]
            if wl < hi_wl:
                pass
            elif wl > lo_wl:
                f = f / rs["factor"]
            else:
                s = (rs["original_max_position_embeddings"] / wl - rs["low_freq_factor"]) / (
                    rs["high_freq_factor"] - rs["low_freq_factor"])
                f = (1 - s) * f / rs["factor"] + s * f
        out.append(f)
    return np.array(out)


def np_rope(x, pos, inv):
    """x [T, d]: pairs (i, i + d/2) rotated by angle pos * inv[i]."""
    h = x.shape[-1] // 2
    out = x.copy()
    for t in range(x.shape[0]):
        ang = pos[t] * inv
        c, s = np.cos(ang), np.sin(ang)
        a, b = x[t, :h], x[t, h:]
        out[t, :h] = a * c - b * s
        out[t, h:] = b * c + a * s
    return out


def np_llama(sd, cfg, ids, prefix="model."):
    W = lambda k: sd[prefix + k]  # noqa: E731
    x = W("embed_tokens.weight")[ids]
    T = len(ids)
    inv = np_inv_freq(cfg)
    pos = np.arange(T)
    nh, kvh, hd = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    for L in range(cfg.num_hidden_layers):
        p = f"layers.{L}."
        h = np_rms(x, W(p + "input_layernorm.weight"), cfg.rms_norm_eps)
        def lin(name, v):
            y = v @ W(p + name + ".weight").T
            return y + W(p + name + ".bias") if (prefix + p + name + ".bias") in sd else y
        q, k, v = lin("self_attn.q_proj", h), lin("self_attn.k_proj", h), lin("self_attn.v_proj", h)
        att = np.zeros((T, nh * hd))
        for head in range(nh):
            g = head // (nh // kvh)
            qh = np_rope(q[:, head * hd:(head + 1) * hd], pos, inv)
            kh = np_rope(k[:, g * hd:(g + 1) * hd], pos, inv)
            vh = v[:, g * hd:(g + 1) * hd]
            s = qh @ kh.T / math.sqrt(hd)
            s[np.triu(np.ones((T, T), bool), 1)] = -np.inf
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            att[:, head * hd:(head + 1) * hd] = s @ vh
        x = x + lin("self_attn.o_proj", att)
        h = np_rms(x, W(p + "post_attention_layernorm.weight"), cfg.rms_norm_eps)
        g_ = lin("mlp.gate_proj", h)
        x = x + lin("mlp.down_proj", (g_ / (1 + np.exp(-g_))) * lin("mlp.up_proj", h))
    return np_rms(x, W("norm.weight"), cfg.rms_norm_eps)


def np_gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def np_ln(x, w, b, eps=1e-6):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b


def np_siglip(sd, cfg, px, pre="vision_model.vision_tower."):
    S, P, Wd = cfg.image_size, cfg.patch_size, cfg.width
    n = S // P
    w = sd[pre + "patch_embed.proj.weight"].reshape(Wd, -1)
    patches = px.reshape(3, n, P, n, P).transpose(1, 3, 0, 2, 4).reshape(n * n, -1)  # row-major grid
    x = patches @ w.T + sd[pre + "patch_embed.proj.bias"] + sd[pre + "pos_embed"][0]
    hd = Wd // cfg.heads
    for L in range(cfg.depth()):
        p = f"{pre}blocks.{L}."
        h = np_ln(x, sd[p + "norm1.weight"], sd[p + "norm1.bias"])
        qkv = h @ sd[p + "attn.qkv.weight"].T + sd[p + "attn.qkv.bias"]
        out = np.zeros_like(h)
        for head in range(cfg.heads):
            q = qkv[:, head * hd:(head + 1) * hd]
            k = qkv[:, Wd + head * hd:Wd + (head + 1) * hd]
            v = qkv[:, 2 * Wd + head * hd:2 * Wd + (head + 1) * hd]
            s = q @ k.T / math.sqrt(hd)
            s = np.exp(s - s.max(-1, keepdims=True))
            out[:, head * hd:(head + 1) * hd] = (s / s.sum(-1, keepdims=True)) @ v
        x = x + out @ sd[p + "attn.proj.weight"].T + sd[p + "attn.proj.bias"]
        h = np_ln(x, sd[p + "norm2.weight"], sd[p + "norm2.bias"])
        x = x + np_gelu(h @ sd[p + "mlp.fc1.weight"].T + sd[p + "mlp.fc1.bias"]) @ sd[p + "mlp.fc2.weight"].T + sd[p + "mlp.fc2.bias"]
    return np_ln(x, sd[pre + "norm.weight"], sd[pre + "norm.bias"])


def np_mlp(sd, pre, x):
    return np_gelu(x @ sd[pre + "layers.0.weight"].T + sd[pre + "layers.0.bias"]) @ sd[pre + "layers.2.weight"].T + sd[pre + "layers.2.bias"]


def np_conv(x, w, b, stride=1, pad=0):
    """x [C,H,W], w [O,C,k,k] -> [O,H',W'] (direct sum over taps)."""
    C, H, Wd = x.shape
    O, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = (H + 2 * pad - k) // stride + 1, (Wd + 2 * pad - k) // stride + 1
    out = np.zeros((O, Ho, Wo)) + b[:, None, None]
    for i in range(k):
        for j in range(k):
            patch = xp[:, i:i + stride * Ho:stride, j:j + stride * Wo:stride]
            out += np.einsum("oc,chw->ohw", w[:, :, i, j], patch)
    return out


def np_gn(x, w, b, groups=32, eps=1e-6):
    C = x.shape[0]
    g = x.reshape(groups, -1)
    m = g.mean(1, keepdims=True)
    v = ((g - m) ** 2).mean(1, keepdims=True)
    return ((g - m) / np.sqrt(v + eps)).reshape(x.shape) * w[:, None, None] + b[:, None, None]


def swish(x):
    return x / (1 + np.exp(-x))


def np_res(sd, p, x):
    h = np_conv(swish(np_gn(x, sd[p + "norm1.weight"], sd[p + "norm1.bias"])), sd[p + "conv1.weight"], sd[p + "conv1.bias"], pad=1)
    h = np_conv(swish(np_gn(h, sd[p + "norm2.weight"], sd[p + "norm2.bias"])), sd[p + "conv2.weight"], sd[p + "conv2.bias"], pad=1)
    if p + "nin_shortcut.weight" in sd:
        x = np_conv(x, sd[p + "nin_shortcut.weight"], sd[p + "nin_shortcut.bias"])
    return x + h


def np_attn(sd, p, x):
    C, H, Wd = x.shape
    h = np_gn(x, sd[p + "norm.weight"], sd[p + "norm.bias"])
    q, k, v = (np_conv(h, sd[p + n + ".weight"], sd[p + n + ".bias"]).reshape(C, -1) for n in ("q", "k", "v"))
    s = q.T @ k / math.sqrt(C)                          # [query, key]
    s = np.exp(s - s.max(-1, keepdims=True))
    s /= s.sum(-1, keepdims=True)
    o = (v @ s.T).reshape(C, H, Wd)
    return x + np_conv(o, sd[p + "proj_out.weight"], sd[p + "proj_out.bias"])


def np_vq_decode(sd, cfg, codes, pre="gen_vision_model."):
    e = sd[pre + "quantize.embedding.weight"]
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    g = cfg.grid()
    z = e[codes].reshape(g, g, -1).transpose(2, 0, 1)
    h = np_conv(z, sd[pre + "post_quant_conv.weight"], sd[pre + "post_quant_conv.bias"])
    d = pre + "decoder."
    h = np_conv(h, sd[d + "conv_in.weight"], sd[d + "conv_in.bias"], pad=1)
    h = np_res(sd, d + "mid.0.", h)
    h = np_attn(sd, d + "mid.1.", h)
    h = np_res(sd, d + "mid.2.", h)
    n = len(cfg.decoder_ch_mult)
    for i in range(n):
        for j in range(cfg.num_res_blocks + 1):
            h = np_res(sd, f"{d}conv_blocks.{i}.res.{j}.", h)
            if i == 0:
                h = np_attn(sd, f"{d}conv_blocks.{i}.attn.{j}.", h)
        if i != n - 1:
            h = h.repeat(2, axis=1).repeat(2, axis=2)
            h = np_conv(h, sd[f"{d}conv_blocks.{i}.upsample.conv.weight"], sd[f"{d}conv_blocks.{i}.upsample.conv.bias"], pad=1)
    h = swish(np_gn(h, sd[d + "norm_out.weight"], sd[d + "norm_out.bias"]))
    return np_conv(h, sd[d + "conv_out.weight"], sd[d + "conv_out.bias"], pad=1)


def np_vq_encode_latent(sd, cfg, px, pre="gen_vision_model."):
    d = pre + "encoder."
    h = np_conv(px, sd[d + "conv_in.weight"], sd[d + "conv_in.bias"], pad=1)
    n = len(cfg.encoder_ch_mult)
    for i in range(n):
        for j in range(cfg.num_res_blocks):
            h = np_res(sd, f"{d}conv_blocks.{i}.res.{j}.", h)
            if i == n - 1:
                h = np_attn(sd, f"{d}conv_blocks.{i}.attn.{j}.", h)
        if i != n - 1:
            h = np.pad(h, ((0, 0), (0, 1), (0, 1)))
            h = np_conv(h, sd[f"{d}conv_blocks.{i}.downsample.conv.weight"], sd[f"{d}conv_blocks.{i}.downsample.conv.bias"], stride=2)
    for k, f in (("mid.0.", np_res), ("mid.1.", np_attn), ("mid.2.", np_res)):
        h = f(sd, d + k, h)
    h = np_conv(swish(np_gn(h, sd[d + "norm_out.weight"], sd[d + "norm_out.bias"])), sd[d + "conv_out.weight"], sd[d + "conv_out.bias"], pad=1)
    return np_conv(h, sd[pre + "quant_conv.weight"], sd[pre + "quant_conv.bias"])


# ---------------- checks ----------------

def main():
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    ids = [5, 17, 3, 99, 42, 7, 64, 11]
    for name, cfg in [
        ("llama MHA", jt.LMConfig(vocab_size=128, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                  num_attention_heads=4, num_key_value_heads=4, head_dim=8)),
        # head_dim 16, theta 5e5, original 64: wavelengths 6.3 (high band), 32.5 (smoothed), >= 168 (scaled)
        ("llama3 GQA tied", jt.LMConfig(vocab_size=128, hidden_size=64, intermediate_size=48, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, head_dim=16, rope_theta=5e5,
                                        tie_word_embeddings=True,
                                        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                      "high_freq_factor": 4.0, "original_max_position_embeddings": 64})),
        ("qwen2 bias GQA", jt.LMConfig(arch="qwen2", vocab_size=128, hidden_size=32, intermediate_size=48,
                                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, head_dim=8,
                                       rope_theta=1e6, qkv_bias=True)),
    ]:
        m = jt.LlamaForCausalLM(cfg)
        jt.seeded_init_(m, 7)
        m.double()
        check(f"{name}: inv_freq", jt.rope_inv_freq(cfg).double().numpy(), np_inv_freq(cfg), 1e-6)
        logits, cache, h = m(input_ids=torch.tensor([ids]))
        ref_h = np_llama(sd64(m), cfg, ids)
        # tolerance 1e-6: RoPE angles and RMSNorm statistics are fp32 by design (HF semantics), even in f64
        check(f"{name}: final hidden", h[0].detach().numpy(), ref_h, 1e-6)
        W = sd64(m)["lm_head.weight"] if "lm_head.weight" in m.state_dict() else sd64(m)["model.embed_tokens.weight"]
        check(f"{name}: logits", logits[0].detach().numpy(), ref_h @ W.T, 1e-6)
        # cached decoding == recomputation
        l1, c1, _ = m(input_ids=torch.tensor([ids[:5]]))
        l2, _, _ = m(input_ids=torch.tensor([ids[5:]]), past_key_values=c1)
        check(f"{name}: KV cache", l2[0].detach().numpy(), logits[0, 5:].detach().numpy(), 1e-6)

    torch.set_default_dtype(torch.float32)
    vis = jt.VisionConfig(image_size=32, patch_size=8, width=32, layers=3, heads=4, select_layer=-1)
    vq = jt.VQConfig(codebook_size=64, codebook_embed_dim=4, z_channels=32, ch=32, encoder_ch_mult=[1, 1, 2],
                     decoder_ch_mult=[1, 1, 2], num_res_blocks=1, image_size=32)
    lm = jt.LMConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=1, num_attention_heads=2,
                     num_key_value_heads=2, head_dim=16)
    cfg = jt.JanusConfig(lm=lm, vision=vis, vq=vq, aligner_input_dim=32)
    m = jt.MultiModalityCausalLM(cfg)
    jt.seeded_init_(m, 9)
    m = m.double().eval()
    sd = sd64(m)
    px = np.random.default_rng(1).uniform(-1, 1, (2, 3, 32, 32))
    with torch.no_grad():
        f, a = m.image_features(torch.from_numpy(px))
    ref_f = np.stack([np_siglip(sd, vis, px[i]) for i in range(2)])
        # 1e-6: attention softmax runs in fp32 by design
    check("siglip features", f.numpy(), ref_f, 1e-6)
    check("aligner", a.numpy(), np_mlp(sd, "aligner.", ref_f), 1e-6)
    codes = np.random.default_rng(2).integers(0, 64, (1, vq.grid() ** 2))
    with torch.no_grad():
        dec = m.gen_vision_model.decode_code(torch.from_numpy(codes))
    check("vq decode", dec[0].numpy(), np_vq_decode(sd, vq, codes[0]), 1e-9)
    with torch.no_grad():
        lat = m.gen_vision_model.encode_continuous(torch.from_numpy(px[:1]))
        _, idx, _ = m.gen_vision_model.quantize(lat)
    ref_lat = np_vq_encode_latent(sd, vq, px[0])
    check("vq encode latent", lat[0].numpy(), ref_lat, 1e-9)
    e = sd["gen_vision_model.quantize.embedding.weight"]
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    z = ref_lat.reshape(vq.codebook_embed_dim, -1).T
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    ref_idx = np.argmin(((z[:, None, :] - e[None]) ** 2).sum(-1), axis=1)
    ok = np.array_equal(idx[0].numpy(), ref_idx)
    print(f"{'ok  ' if ok else 'FAIL'} vq encode codes (nearest normalised codebook row)")
    if not ok:
        FAIL.append("vq codes")
    # gen_head / gen_aligner
    xg = np.random.default_rng(3).normal(size=(3, 32))
    with torch.no_grad():
        gh = m.gen_head(torch.from_numpy(xg)).numpy()
    ref_gh = np_gelu(xg @ sd["gen_head.output_mlp_projector.weight"].T + sd["gen_head.output_mlp_projector.bias"]) \
        @ sd["gen_head.vision_head.weight"].T + sd["gen_head.vision_head.bias"]
    check("gen_head", gh, ref_gh, 1e-10)
    # CFG loop with KV cache == full recomputation each step
    rows = jt.cfg_rows([1, 5, 6, 7, 2], 2, 3)
    r = jt.generate_image_codes(m, rows, 5, cfg_weight=5.0)
    embeds = m.language_model.get_input_embeddings()(torch.tensor(rows))
    codes_ref = []
    with torch.no_grad():
        for step in range(5):
            hh, _ = m.language_model.model(inputs_embeds=embeds)
            lg = m.gen_head(hh[:, -1])
            gl = lg[1::2] + 5.0 * (lg[0::2] - lg[1::2])
            if step == 0:
                check("cfg step0 rows", r["step0_rows"], lg.numpy(), 1e-6)
            check(f"cfg logits step {step}", r["cfg_logits"][step], gl.numpy(), 1e-6)
            nxt = gl.argmax(-1)
            codes_ref.append(nxt.numpy())
            e2 = m.prepare_gen_img_embeds(torch.stack([nxt, nxt], 1).reshape(-1))[:, None]
            embeds = torch.cat([embeds, e2], dim=1)
    ok = np.array_equal(r["codes"], np.stack(codes_ref, 1))
    print(f"{'ok  ' if ok else 'FAIL'} cfg codes: cached loop == recompute")
    if not ok:
        FAIL.append("cfg codes")
    # safetensors round trip (f32 + bf16)
    with tempfile.TemporaryDirectory() as d:
        t = {"a": torch.randn(3, 4), "b": torch.randn(5).to(torch.bfloat16), "c": torch.arange(6).reshape(2, 3)}
        jt.save_safetensors(t, os.path.join(d, "x.safetensors"), {"format": "pt"})
        back = jt.load_safetensors(os.path.join(d, "x.safetensors"))
        ok = all(torch.equal(t[k], back[k]) and t[k].dtype == back[k].dtype for k in t)
        with open(os.path.join(d, "x.safetensors"), "rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
        ok = ok and n % 8 == 0
    print(f"{'ok  ' if ok else 'FAIL'} safetensors writer round trip")
    if not ok:
        FAIL.append("safetensors")
    # structure: parameter counts of the real-dimension SigLIP and VQ-16 trees == facts §2.5 (exact)
    if "--skip-real-counts" not in sys.argv:
        def cnt(mod, pre=""):
            return sum(v.numel() for k, v in mod.state_dict().items() if k.startswith(pre))
        v = jt.CLIPVisionTower(jt.VisionConfig())
        q = jt.VQModel(jt.VQConfig())
        got = [cnt(v) - cnt(v, "vision_tower.attn_pool"), cnt(v, "vision_tower.attn_pool"), cnt(q, "encoder"),
               cnt(q, "decoder"), cnt(q, "quantize.embedding"), cnt(q, "quant_conv") + cnt(q, "post_quant_conv"),
               cnt(q, "quantize.codebook_used")]
        want = [303688704, 12595200, 29298176, 42449795, 131072, 4360, 65536]
        ok = got == want
        print(f"{'ok  ' if ok else 'FAIL'} real-dimension parameter counts (SigLIP, attn_pool, VQ enc/dec/...) {got}")
        if not ok:
            FAIL.append("param counts")
    print("FAILED: " + ", ".join(FAIL) if FAIL else "all self-checks passed")
    sys.exit(1 if FAIL else 0)


if __name__ == "__main__":
    main()
