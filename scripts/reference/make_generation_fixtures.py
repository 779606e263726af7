#!/usr/bin/python3
"""Greedy CFG text-to-image goldens on the tiny Janus checkpoint (issue 6), from the official loop (facts §5).

Run:  /usr/bin/python3 scripts/reference/make_generation_fixtures.py   (after make_vision_fixtures.py; ~5 s)

Loads tests/data/models/tiny-janus/ (config.json + pytorch_model.bin, exactly what the C++ loads) and writes
tests/data/golden/tiny-janus-gen/<variant>/ for variant in
  pad       the reference: P = 2 images, cfg 5, unconditional rows = prompt ids with positions 1..L-2
            replaced by the pad id (BOS and the trailing BOI kept), rows interleaved cond/uncond, no mask
  negative  --negative-prompt: unconditional rows = the ids of the negative prompt in the same template
            (a different length: each row runs at its own positions 0..L_r-1, no padding between rows)
  prompt2   a second prompt, P = 1 (a batch mixing prompt rows must reproduce pad + prompt2 separately)
  steps100  the pad-variant prompt, P = 1, 100 steps (--steps 100: codes and guided logits only, no
            decode; exercises a long KV cache beyond the 16 codes of one tiny image)
Files per variant and mode (f32 | bf16):
  gen_input_ids.npy                  int64 [2P, L]   rows as fed (pad variant; equal lengths)
  gen_input_ids_cond.npy / _uncond.npy int64 [L_c] / [L_u]   (negative variant)
  {mode}_gen_head_logits_step0_rows.npy  f32 [2P, V_img]  raw gen_head output at step 0
  {mode}_cfg_logits.npy              f32 [K, P, V_img]    uncond + w (cond - uncond) per step
  {mode}_codes.npy                   int32 [P, K]         argmax of the guided logits (ties -> lowest id)
  {mode}_images_uint8.npy            uint8 [P, S, S, 3]   VQ decode + truncating pixel conversion
K = (image_size / 16)^2 = 16 for the tiny model (64 px).
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import janus_torch as jt  # noqa: E402
import tiny_tokenizer as tok  # noqa: E402
from golden_io import GOLDEN, MODELS, Golden, deterministic, max_rel_err, top2_margin  # noqa: E402

PARALLEL = 2
CFG = 5.0
MIN_MARGIN = 2e-3
PROMPTS = ["a red circle on a blue background", "a small green square at the top left",
           "a yellow star on a black background", "a white triangle"]
NEGATIVE = "blurry, low quality"
LONG_STEPS = 100


def load_tiny_janus():
    d = os.path.join(MODELS, "tiny-janus")
    with open(os.path.join(d, "config.json")) as f:
        cfg = jt.JanusConfig.from_hf_dict(json.load(f))
    m = jt.MultiModalityCausalLM(cfg)
    jt.load_janus_bin(os.path.join(d, "pytorch_model.bin"), m)
    return m.float().eval(), cfg


def run(model, rows, K, decode=True):
    r = jt.generate_image_codes(model, rows, K, cfg_weight=CFG, greedy=True)
    if decode:
        with torch.no_grad():
            dec = model.gen_vision_model.decode_code(torch.from_numpy(r["codes"]).long())
        r["images"] = jt.decoded_to_uint8(dec)
    return r


def pick_prompt(candidates, make_variants, m32, min_margin=MIN_MARGIN):
    """First prompt whose f32 guided logits have top-2 margins >= min_margin in every variant."""
    for prompt in candidates:
        variants = make_variants(tok.encode(tok.generation_prompt(prompt)))
        res32 = {k: run(m32, rows, K_, dec) for k, (rows, K_, dec) in variants.items()}
        if min(top2_margin(r["cfg_logits"]) for r in res32.values()) >= min_margin:
            return prompt, variants, res32
    raise RuntimeError("no prompt with robust greedy margins")


def main():
    deterministic()
    model, cfg = load_tiny_janus()
    K = cfg.vq.grid() ** 2
    pad = tok.special_id(tok.PAD)
    m32 = model
    jt.set_rope_exact(m32, True)
    import copy
    m16 = copy.deepcopy(model).to(torch.bfloat16)
    jt.set_rope_exact(m16, False)
    neg_ids = tok.encode(tok.generation_prompt(NEGATIVE))

    # variant -> (rows, steps, decode); see the module docstring
    prompt, variants, res32 = pick_prompt(PROMPTS, lambda ids: {
        "pad": (jt.cfg_rows(ids, PARALLEL, pad), K, True),
        "negative": (jt.cfg_rows(ids, PARALLEL, pad, neg_ids), K, True),
        "steps100": (jt.cfg_rows(ids, 1, pad), LONG_STEPS, False)}, m32)
    prompts = {k: prompt for k in variants}
    rest = [p for p in PROMPTS if p != prompt]
    prompt2, v2, r2 = pick_prompt(rest, lambda ids: {"prompt2": (jt.cfg_rows(ids, 1, pad), K, True)}, m32)
    variants.update(v2)
    res32.update(r2)
    prompts["prompt2"] = prompt2

    for key, (rows, steps, decode) in variants.items():
        r16 = run(m16, rows, steps, decode)
        g = Golden(os.path.join(GOLDEN, "tiny-janus-gen", key), {})
        if key == "negative":
            g.save("gen_input_ids_cond", np.array(rows[0], dtype=np.int64), "conditional row ids")
            g.save("gen_input_ids_uncond", np.array(rows[1], dtype=np.int64), "unconditional (negative prompt) row ids")
        else:
            g.save("gen_input_ids", np.array(rows, dtype=np.int64), "[2P, L] interleaved cond/uncond rows as fed")
        stats = {}
        for mode, r in (("f32", res32[key]), ("bf16", r16)):
            g.save(f"{mode}_gen_head_logits_step0_rows", r["step0_rows"], "[2P, V_img] raw gen_head logits, step 0")
            g.save(f"{mode}_cfg_logits", r["cfg_logits"], "[K, P, V_img] guided logits per step")
            g.save(f"{mode}_codes", r["codes"].astype(np.int32), "[P, K] greedy codes")
            if decode:
                g.save(f"{mode}_images_uint8", r["images"], "[P, S, S, 3] decoded images")
            stats[mode] = {"cfg_top2_margin_min": top2_margin(r["cfg_logits"])}
        stats["bf16"]["step0_max_rel_vs_f32"] = max_rel_err(r16["step0_rows"], res32[key]["step0_rows"])
        stats["bf16"]["codes_equal_to_f32_prefix"] = int(np.argmax(np.append(r16["codes"][0] != res32[key]["codes"][0], True)))
        P = len(rows) // 2
        g.meta = {
            "model": "tests/data/models/tiny-janus", "script": "scripts/reference/make_generation_fixtures.py",
            "variant": key, "prompt": prompts[key], "prompt_text": tok.generation_prompt(prompts[key]),
            "negative_prompt": NEGATIVE if key == "negative" else None,
            "parallel": P, "cfg_weight": CFG, "temperature": 1.0, "greedy": True, "steps": steps,
            "decoded": decode, "num_image_tokens": K, "image_size": cfg.vq.image_size,
            "special_ids": {"bos": tok.special_id(tok.BOS), "pad": pad, "boi": tok.special_id(tok.BOI)},
            "row_layout": "interleaved: row 2i = conditional, row 2i+1 = unconditional of image i",
            "uncond_rows": ("ids of the negative prompt in the generation template; rows of different length "
                            "each at positions 0..L_r-1 (no padding, no mask)" if key == "negative" else
                            "prompt ids with positions 1..L-2 set to the pad id"),
            "modes": {"f32": "f32 compute on the bf16-representable weights, exact RoPE",
                      "bf16": "bf16 weights/activations (torch CPU eager), bf16-rounded inv_freq; CFG in bf16"},
            "tolerances": {"metric": "max|cpp - golden| / max|golden|", "f32_logits": 1e-4, "f32_codes": "exact",
                           "f32_images_uint8": "+-1 per channel",
                           "bf16": "logits within 2x step0_max_rel_vs_f32; codes up to the first step whose golden "
                                   "top2 margin is below 2x the logit error"},
            "stats": stats,
        }
        g.write()
        print(f"{key}: prompt {prompts[key]!r}, codes f32 {res32[key]['codes'][0][:16].tolist()}, stats {json.dumps(stats)}")


if __name__ == "__main__":
    main()
