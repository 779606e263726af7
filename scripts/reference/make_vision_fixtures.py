#!/usr/bin/python3
"""Tiny Janus (multi_modality) checkpoints + PyTorch goldens for the vision / understanding / VQ tests
(issue 5). Deterministic; one command:

  /usr/bin/python3 scripts/reference/make_vision_fixtures.py                 # tiny fixtures (~10 s)
  /usr/bin/python3 scripts/reference/make_vision_fixtures.py --real-dims DIR # real SigLIP-L/16@384 + real
        VQ-16 random checkpoint and goldens in DIR (~1 GB, minutes; for a local test, never committed)

Writes
  tests/data/models/tiny-janus/     official layout: config.json (multi_modality, explicit tiny dims),
                                    pytorch_model.bin (bf16, names of facts §2.2 incl. the unused
                                    vision_model.vision_tower.attn_pool.* and quantize.codebook_used),
                                    preprocessor_config.json, processor_config.json, tokenizer files
  tests/data/models/tiny-janus-hf/  the same weights under the transformers-converted names (facts §2.4):
                                    model.safetensors (bf16), config.json (model_type janus), tokenizer files
  tests/data/golden/tiny-janus/     images/*.png (inputs) and .npy goldens, listed in manifest.json
Tiny dims: LM hidden 64 (2 layers, 4 heads, vocab 288); SigLIP image 64, patch 16 (16 tokens), width 64,
2 blocks, 4 heads; VQ ch 32, ch_mult [1,1,1,1,2] (16x: 64 px <-> 4x4 codes), z 32, codebook 256 x 8,
num_res_blocks 1 (decoder 2 per level).
"""
import argparse
import copy
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import janus_torch as jt  # noqa: E402
import tiny_tokenizer as tok  # noqa: E402
from golden_io import GOLDEN, MODELS, Golden, deterministic, dir_size, fresh_dir, max_rel_err, top2_margin  # noqa: E402

SEED = 505
N_CAPTION = 24
MIN_MARGIN = 2e-3
QUESTIONS = ["Describe this image.", "What is shown in this image?", "Describe this image in detail.",
             "What colour is the object?", "Is there anything unusual here?", "Give a short caption."]


def tiny_janus_config(vocab=288):
    lm = jt.LMConfig(arch="llama", vocab_size=vocab, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=4, head_dim=16, rope_theta=10000.0,
                     max_position_embeddings=16384, bos_token_id=tok.special_id(tok.BOS),
                     eos_token_id=tok.special_id(tok.EOS), pad_token_id=tok.special_id(tok.PAD))
    vis = jt.VisionConfig(image_size=64, patch_size=16, width=64, layers=2, heads=4, mlp_ratio=4.0,
                          model_name="siglip_tiny_patch16_64")
    vq = jt.VQConfig(codebook_size=256, codebook_embed_dim=8, z_channels=32, ch=32, encoder_ch_mult=[1, 1, 1, 1, 2],
                     decoder_ch_mult=[1, 1, 1, 1, 2], num_res_blocks=1, image_size=64)
    return jt.JanusConfig(lm=lm, vision=vis, vq=vq, aligner_input_dim=vis.width)


def real_dims_config(vocab=288):
    """Real SigLIP-L/16@384 and real VQ-16 (facts §1.3, §1.5) around a tiny LM (hidden 64)."""
    c = tiny_janus_config(vocab)
    c.vision = jt.VisionConfig()
    c.vq = jt.VQConfig()
    c.aligner_input_dim = 1024
    return c


def build_model(cfg, seed):
    m = jt.MultiModalityCausalLM(cfg)
    jt.seeded_init_(m, seed)
    with torch.no_grad():  # bf16-representable master weights: bf16 files hold exactly the f32 values
        for p in m.parameters():
            p.copy_(p.to(torch.bfloat16).float())
    return m.eval()


# ------------------------------------------------------------------------------------------------
# checkpoint writers
# ------------------------------------------------------------------------------------------------

def preprocessor_config(image_size):
    return {"background_color": [127, 127, 127], "do_normalize": True, "image_mean": [0.5, 0.5, 0.5],
            "image_processor_type": "VLMImageProcessor", "image_size": image_size, "image_std": [0.5, 0.5, 0.5],
            "min_size": 14, "processor_class": "VLChatProcessor", "rescale_factor": 0.00392156862745098}


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def write_official(model, cfg, out_dir, explicit_dims=True):
    fresh_dir(out_dir)
    config = cfg.to_hf_dict("bfloat16")
    if not explicit_dims:  # real dims: rely on the official defaults, exactly like the released config.json
        for k in ("patch_size", "width", "layers", "heads", "mlp_ratio"):
            config["vision_config"]["params"].pop(k)
        for k in ("codebook_size", "codebook_embed_dim", "z_channels", "ch", "encoder_ch_mult", "decoder_ch_mult",
                  "num_res_blocks", "image_size"):
            config["gen_vision_config"]["params"].pop(k)
    write_json(os.path.join(out_dir, "config.json"), config)
    write_json(os.path.join(out_dir, "preprocessor_config.json"), preprocessor_config(cfg.vision.image_size))
    write_json(os.path.join(out_dir, "processor_config.json"),
               {"add_special_token": False, "ignore_id": -100, "image_tag": tok.IMG, "mask_prompt": True,
                "num_image_tokens": cfg.vision.num_patches(), "processor_class": "VLChatProcessor",
                "sft_format": "deepseek"})
    tok.write_files(out_dir)
    sd = jt.cast_state_dict(jt.janus_state_dict(model), torch.bfloat16)
    jt.save_torch_bin(sd, os.path.join(out_dir, "pytorch_model.bin"))


def write_hf_converted(model, cfg, out_dir):
    fresh_dir(out_dir)
    lm = cfg.lm.to_hf_dict("bfloat16")
    lm.pop("architectures", None)
    v, q = cfg.vision, cfg.vq
    config = {
        "architectures": ["JanusForConditionalGeneration"], "model_type": "janus", "torch_dtype": "bfloat16",
        "image_token_id": tok.special_id(tok.IMG),
        "text_config": lm,
        "vision_config": {"model_type": "janus_vision_model", "hidden_size": v.width, "num_hidden_layers": v.depth(),
                          "num_attention_heads": v.heads, "patch_size": v.patch_size, "image_size": v.image_size,
                          "mlp_ratio": v.mlp_ratio, "layer_norm_eps": 1e-6, "hidden_act": "gelu",
                          "projection_dim": cfg.lm.hidden_size, "depth": 2, "num_image_tokens": v.num_patches(),
                          "attention_bias": True, "use_qk_norm": False, "num_channels": 3},
        "vq_config": {"model_type": "janus_vqgan", "embed_dim": q.codebook_embed_dim, "num_embeddings": q.codebook_size,
                      "latent_channels": q.z_channels, "base_channels": q.ch, "channel_multiplier": list(q.decoder_ch_mult),
                      "num_res_blocks": q.num_res_blocks, "in_channels": 3, "out_channels": 3, "double_latent": False,
                      "projection_dim": cfg.lm.hidden_size, "num_hidden_layers": 2, "hidden_act": "gelu",
                      "image_token_embed_dim": cfg.image_token_embed(), "num_patches": q.grid(),
                      # extra key (not in transformers' JanusVQVAEConfig, which derives the size from
                      # vision_config image_size / patch_size): the generated image size, default 384
                      "image_size": q.image_size},
    }
    write_json(os.path.join(out_dir, "config.json"), config)
    write_json(os.path.join(out_dir, "generation_config.json"),
               {"bos_token_id": cfg.lm.bos_token_id, "eos_token_id": cfg.lm.eos_token_id,
                "pad_token_id": cfg.lm.pad_token_id, "guidance_scale": 5, "temperature": 1,
                "generation_kwargs": {"boi_token_id": tok.special_id(tok.BOI), "num_image_tokens": q.grid() ** 2}})
    write_json(os.path.join(out_dir, "preprocessor_config.json"),
               {"image_processor_type": "JanusImageProcessor", "size": {"height": v.image_size, "width": v.image_size},
                "min_size": 14, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
                "rescale_factor": 0.00392156862745098, "do_normalize": True, "do_rescale": True, "do_resize": True,
                "do_convert_rgb": True, "resample": 3})
    tok.write_files(out_dir)
    sd = jt.to_hf_converted_names(jt.cast_state_dict(jt.janus_state_dict(model), torch.bfloat16), v.heads)
    jt.save_safetensors(sd, os.path.join(out_dir, "model.safetensors"), {"format": "pt"})


# ------------------------------------------------------------------------------------------------
# test images (drawn deterministically, committed as PNG inputs)
# ------------------------------------------------------------------------------------------------

def scene(w, h, rng):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 110 * np.sin(x / w * 7.0 + 0.5) * np.cos(y / h * 4.0)
    g = 255 * x / max(w - 1, 1)
    b = 255 * (1 - y / max(h - 1, 1))
    img = np.stack([r, g, b], -1)
    img[(x - w * 0.35) ** 2 + (y - h * 0.55) ** 2 < (min(w, h) * 0.22) ** 2] = [250, 240, 20]
    img[int(h * 0.1):int(h * 0.35) + 1, int(w * 0.6):int(w * 0.85) + 1] = [10, 10, 10]
    img += rng.normal(0, 10, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def make_images(img_dir):
    """img0 100x60 RGB (landscape, downscale); img1 45x70 RGBA (alpha dropped by convert('RGB'));
    img2 64x64 RGB (identity resize at 64); img3 200x12 palette (short side hits min_size 14)."""
    fresh_dir(img_dir)
    rng = np.random.default_rng(SEED)
    paths = []
    a = scene(100, 60, rng)
    Image.fromarray(a, "RGB").save(os.path.join(img_dir, "img0_100x60_rgb.png"))
    b = scene(45, 70, rng)
    alpha = (np.linspace(0, 255, 45)[None, :] * np.ones((70, 1))).astype(np.uint8)
    Image.fromarray(np.dstack([b, alpha]), "RGBA").save(os.path.join(img_dir, "img1_45x70_rgba.png"))
    c = scene(64, 64, rng)
    Image.fromarray(c, "RGB").save(os.path.join(img_dir, "img2_64x64_rgb.png"))
    d = scene(200, 12, rng)
    Image.fromarray(d, "RGB").quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        os.path.join(img_dir, "img3_200x12_palette.png"))
    for fn in sorted(os.listdir(img_dir)):
        paths.append(os.path.join(img_dir, fn))
    return paths


# ------------------------------------------------------------------------------------------------
# goldens
# ------------------------------------------------------------------------------------------------

@torch.no_grad()
def understand(model, ids_expanded, pixels, img_id, eos):
    ids_t = torch.tensor([ids_expanded], dtype=torch.long)
    emb = model.prepare_inputs_embeds(ids_t, pixels, img_id)
    toks, step_logits = jt.greedy_generate(model.language_model, ids_expanded, N_CAPTION, eos_token_id=eos,
                                           inputs_embeds=emb)
    return emb[0].float().numpy(), toks, step_logits


@torch.no_grad()
def vq_goldens(g, model, mode, codes, enc_pixels):
    dec = model.gen_vision_model.decode_code(torch.from_numpy(codes).long())
    g.save(f"{mode}_vq_decoded", dec.float().numpy(), "decoder output for vq_codes (before pixel conversion)")
    g.save(f"{mode}_vq_image_uint8", jt.decoded_to_uint8(dec), "(x+1)/2*255, clip, truncate")
    if mode != "f32":
        return None
    h = model.gen_vision_model.encode_continuous(enc_pixels)
    _, idx, d = model.gen_vision_model.quantize(h)
    ds = torch.sort(d.double(), dim=1).values
    gap = float((ds[:, 1] - ds[:, 0]).min())
    g.save("f32_vq_encode_latent", h.numpy(), "quant_conv output before the codebook lookup [n,D,h,w]")
    g.save("f32_vq_encode_codes", idx.numpy().astype(np.int64), "nearest L2-normalised codebook row per position")
    rt = model.gen_vision_model.decode_code(idx)
    g.save("f32_vq_roundtrip_uint8", jt.decoded_to_uint8(rt), "decode_code(encode codes) -> uint8")
    return gap


def make_tiny():
    deterministic()
    cfg = tiny_janus_config()
    model = build_model(cfg, SEED)
    name = "tiny-janus"
    write_official(model, cfg, os.path.join(MODELS, name))
    write_hf_converted(model, cfg, os.path.join(MODELS, name + "-hf"))

    gdir = os.path.join(GOLDEN, name)
    g = Golden(gdir, {})
    img_paths = make_images(os.path.join(gdir, "images"))
    S = cfg.vision.image_size
    pixels = []
    for i, p in enumerate(img_paths):
        src = Image.open(p)
        resized, padded, px = jt.preprocess_image(src, S)
        g.save(f"resized{S}_u8_img{i}", resized, f"{os.path.basename(p)} after convert('RGB') + BICUBIC resize")
        g.save(f"padded{S}_u8_img{i}", padded, "after centred pad with (127,127,127)")
        g.save(f"pixel_values_img{i}", px, "[3,S,S] f32 in [-1,1]")
        r384, _, _ = jt.preprocess_image(src, 384)
        Image.fromarray(r384, "RGB").save(os.path.join(gdir, "images", f"resized384_img{i}.png"))
        pixels.append(px)
    pix = torch.from_numpy(np.stack(pixels))

    img_id, boi, eoi = tok.special_id(tok.IMG), tok.special_id(tok.BOI), tok.special_id(tok.EOI)
    eos = tok.special_id(tok.EOS)
    n_tok = cfg.vision.num_patches()
    m32 = copy.deepcopy(model)
    jt.set_rope_exact(m32, True)
    m16 = copy.deepcopy(model).to(torch.bfloat16)
    jt.set_rope_exact(m16, False)

    # question chosen so every f32 greedy step has a top-2 margin >= MIN_MARGIN (robust comparisons)
    for q in QUESTIONS:
        prompts = {"one": (tok.sft_prompt(q, n_images=1), [0]), "two": (tok.sft_prompt(q, n_images=2), [0, 1])}
        res32 = {}
        for key, (text, imgs) in prompts.items():
            ids = jt.expand_image_placeholders(tok.encode(text), img_id, boi, eoi, n_tok)
            res32[key] = (ids,) + understand(m32, ids, pix[imgs], img_id, eos)
        if min(top2_margin(r[3]) for r in res32.values()) >= MIN_MARGIN:
            break
    else:
        raise RuntimeError("no question with robust greedy margins; change SEED")

    stats = {}
    for mode, m in (("f32", m32), ("bf16", m16)):
        with torch.no_grad():
            feats, al = m.image_features(pix)
        g.save(f"{mode}_siglip_features", feats.float().numpy(), "[n,N,W] after the final LayerNorm, images 0..3")
        g.save(f"{mode}_aligner_out", al.float().numpy(), "[n,N,H] aligner(siglip)")
        st = {}
        for key, (text, imgs) in prompts.items():
            if mode == "f32":
                ids, emb, toks, sl = res32[key]
            else:
                ids = res32[key][0]
                emb, toks, sl = understand(m, ids, pix[imgs], img_id, eos)
            if mode == "f32":
                g.save(f"understand_{key}_input_ids", np.array(ids, dtype=np.int64),
                       "prompt ids with each image expanded to BOI + N x image id + EOI")
                g.save(f"f32_understand_{key}_inputs_embeds", emb, "[T,H] after splicing")
            g.save(f"{mode}_understand_{key}_first_logits", sl[0], "[V] logits of the first answer token")
            g.save(f"{mode}_understand_{key}_tokens", toks, "greedy answer tokens (stops after EOS)")
            g.save(f"{mode}_understand_{key}_step_logits", sl, "[N,V] logits that chose each token")
            st[key] = {"greedy_top2_margin_min": top2_margin(sl)}
            if mode != "f32":
                st[key]["first_logits_max_rel_vs_f32"] = max_rel_err(sl[0], res32[key][3][0])
        if mode != "f32":
            st["siglip_max_rel_vs_f32"] = max_rel_err(feats.float().numpy(), g_f32_feats)
        else:
            g_f32_feats = feats.numpy()
        stats[mode] = st

    rng = np.random.default_rng(SEED + 1)
    codes = rng.integers(0, cfg.vq.codebook_size, size=(2, cfg.vq.grid() ** 2)).astype(np.int64)
    g.save("vq_codes", codes, "[2, h*w] row-major code grids to decode")
    enc_pixels = pix[[2, 0]]
    gap = vq_goldens(g, m32, "f32", codes, enc_pixels)
    vq_goldens(g, m16, "bf16", codes, None)
    stats["vq_encode_min_distance_gap"] = gap
    stats["bf16"]["vq_decoded_max_rel_vs_f32"] = max_rel_err(
        np.load(os.path.join(gdir, "bf16_vq_decoded.npy")), np.load(os.path.join(gdir, "f32_vq_decoded.npy")))

    g.meta = {
        "model": name, "script": "scripts/reference/make_vision_fixtures.py",
        "checkpoints": {"official": f"tests/data/models/{name}", "hf_converted": f"tests/data/models/{name}-hf"},
        "images": [os.path.relpath(p, gdir) for p in img_paths],
        "image_size": S, "num_image_tokens": n_tok,
        "question": q, "system_prompt": tok.DEFAULT_SYSTEM,
        "prompt_one_image": prompts["one"][0], "prompt_two_images": prompts["two"][0],
        "prompt_images": {"one": [0], "two": [0, 1]},
        "special_ids": {"bos": tok.special_id(tok.BOS), "eos": eos, "pad": tok.special_id(tok.PAD), "boi": boi,
                        "eoi": eoi, "image": img_id},
        "max_new_tokens": N_CAPTION,
        "vq_encode_inputs": "pixel_values_img2, pixel_values_img0 (in that order)",
        "modes": {"f32": "f32 compute on the bf16-representable weights (= upcast bf16 checkpoint), exact RoPE",
                  "bf16": "bf16 weights + activations (torch CPU eager), bf16-rounded inv_freq, pixels cast to bf16"},
        "tolerances": {"metric": "max|cpp - golden| / max|golden|",
                       "pixel_values": "exact when the uint8 padded image matches; resized u8 within +-1",
                       "f32_activations_and_logits": 1e-4, "f32_tokens": "exact",
                       "vq_image_uint8_f32": "+-1 per channel (truncation of values near integers)",
                       "bf16": "2x the recorded *_max_rel_vs_f32; tokens up to the first golden step with top2 margin "
                               "below 2x the logit error"},
        "stats": stats,
    }
    g.write()
    total = sum(dir_size(os.path.join(MODELS, n)) for n in (name, name + "-hf")) + dir_size(gdir)
    print(f"{name}: question {q!r}, {total / 1e6:.2f} MB, stats {json.dumps(stats)}")


def make_real_dims(out):
    """Real SigLIP-L/16@384 + VQ-16 dims with random weights; config.json WITHOUT the explicit keys (the
    loader must apply the official defaults). Goldens for one image and one 24x24 code grid, f32."""
    deterministic()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    cfg = real_dims_config()
    model = build_model(cfg, SEED + 7)
    write_official(model, cfg, os.path.join(out, "model"), explicit_dims=False)
    g = Golden(os.path.join(out, "golden"), {"script": "make_vision_fixtures.py --real-dims", "model": "model/"})
    img_dir = os.path.join(out, "golden", "images")
    paths = make_images(img_dir)
    _, _, px = jt.preprocess_image(Image.open(paths[0]), 384)
    pix = torch.from_numpy(px)[None]
    g.save("pixel_values_img0", px)
    with torch.no_grad():
        feats, al = model.image_features(pix)
        g.save("f32_siglip_features", feats.numpy())
        g.save("f32_aligner_out", al.numpy())
        codes = np.random.default_rng(SEED + 2).integers(0, 16384, size=(1, 576)).astype(np.int64)
        g.save("vq_codes", codes)
        dec = model.gen_vision_model.decode_code(torch.from_numpy(codes))
        g.save("f32_vq_decoded", dec.numpy())
        g.save("f32_vq_image_uint8", jt.decoded_to_uint8(dec))
        _, idx, _ = model.gen_vision_model.encode(pix)
        g.save("f32_vq_encode_codes", idx.numpy().astype(np.int64))
    g.meta["tolerances"] = {"f32": 1e-4, "metric": "max|cpp - golden| / max|golden|"}
    g.write()
    print(f"real-dims fixtures in {out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--real-dims", metavar="DIR", help="write the real-dimension random checkpoint + goldens to DIR")
    a = ap.parse_args()
    if a.real_dims:
        make_real_dims(a.real_dims)
    else:
        make_tiny()


if __name__ == "__main__":
    main()
