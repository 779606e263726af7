"""Writes the PyTorch-side goldens of janus-shapes for the C++ agreement tests into
tests/data/golden/janus-shapes/ (or --out):

  t2i.json        for 6 prompts: the exact conditional / unconditional ids fed (facts §5.1, §5.2),
                  the greedy CFG image codes (w = 5, P = 1, argmax ties to the lowest id), and per step
                  the margin between the best and second-best guided logit (a C++ test may skip steps
                  whose margin is below its numeric tolerance; all codes after a disagreement differ).
  t2i_<k>.png     the VQ decode of those codes, uint8 by truncation (facts §5.5).
  caption.json    for 6 freshly drawn images: the understanding prompt ids with the image expanded
                  (BOI + N x <image_placeholder> + EOI, facts §4.2), the greedy caption tokens (stopping
                  at and including EOS), the decoded text and per-token logit margins.
  caption_<k>.png the input images (S x S RGB; preprocessing is then only the [-1,1] scaling).

All computed in float32 from the checkpoint's float32 weights with exact RoPE frequencies.
Usage: /usr/bin/python3 scripts/shapes/make_goldens.py [--model-dir DIR] [--out DIR]
"""
import argparse
import json
import os

import blas_env

blas_env.ensure(blas_env.threads_from_argv())

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import bpe_tokenizer as bpe  # noqa: E402
import build_tokenizer  # noqa: E402
import evaluate as ev  # noqa: E402
import shapes_data as sd  # noqa: E402
import templates  # noqa: E402
from shapes_model import jt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "data", "golden", "janus-shapes"))

PROMPTS = [
    "a red circle on a blue background",
    "a yellow star on a black background",
    "a small green square at the top left on a white background",
    "a large white triangle on a red background",
    "A blue cross on a yellow background.",
    "a black circle at the bottom right",
]
CAPTION_SPECS = [
    {"shape": "circle", "color": "red", "bg": "blue", "size": "medium", "pos": "center"},
    {"shape": "star", "color": "yellow", "bg": "black", "size": "large", "pos": "center"},
    {"shape": "square", "color": "green", "bg": "white", "size": "small", "pos": "top left"},
    {"shape": "triangle", "color": "white", "bg": "red", "size": "medium", "pos": "bottom right"},
    {"shape": "cross", "color": "blue", "bg": "yellow", "size": "small", "pos": "top right"},
    {"shape": "circle", "color": "black", "bg": "green", "size": "large", "pos": "center"},
]


def margins(logits):
    top = np.sort(logits, axis=-1)[..., -2:]
    return (top[..., 1] - top[..., 0]).astype(float)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=build_tokenizer.DEFAULT_OUT)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    model, tok = ev.load(a.model_dir)
    jt.set_rope_exact(model, True)
    pad = tok.token_id(bpe.PAD)
    rel_model = os.path.relpath(a.model_dir, os.path.join(HERE, "..", ".."))

    cases = []
    for k, p in enumerate(PROMPTS):
        ids, r, img = ev.generate(model, tok, p, greedy=True, seed=0)
        rows = jt.cfg_rows(ids, 1, pad)
        Image.fromarray(img).save(os.path.join(a.out, f"t2i_{k}.png"))
        m = margins(r["cfg_logits"][:, 0, :])
        cases.append({"prompt": p, "cond_ids": rows[0], "uncond_ids": rows[1], "codes": r["codes"][0].tolist(),
                      "margins": [round(x, 5) for x in m], "image": f"t2i_{k}.png", "analysis": ev.analyse(img)})
        print(f"t2i {k}: {p!r} -> {ev.analyse(img)} min margin {m.min():.3f}")
    with open(os.path.join(a.out, "t2i.json"), "w") as f:
        json.dump({"model": rel_model, "cfg_weight": 5.0, "parallel": 1, "greedy": True, "dtype": "float32",
                   "num_image_tokens": len(cases[0]["codes"]), "image_size": model.cfg.vq.image_size,
                   "cases": cases}, f, indent=1)
        f.write("\n")

    rng = np.random.default_rng(31337)
    cases = []
    q = sd.QUESTIONS[0]
    for k, spec in enumerate(CAPTION_SPECS):
        img = sd.draw(spec, model.cfg.vision.image_size, rng)
        Image.fromarray(img).save(os.path.join(a.out, f"caption_{k}.png"))
        ids, toks, text = ev.caption_image(model, tok, img, q)
        S = model.cfg.vision.image_size
        _, _, px = jt.preprocess_image(Image.fromarray(img), image_size=S)
        emb = model.prepare_inputs_embeds(torch.tensor([ids]), torch.from_numpy(px)[None], tok.token_id(bpe.IMG))
        _, step_logits = jt.greedy_generate(model.language_model, ids, 24, tok.token_id(bpe.EOS), inputs_embeds=emb)
        cases.append({"image": f"caption_{k}.png", "drawn": sd.caption(spec), "input_ids": ids, "tokens": toks,
                      "text": text, "margins": [round(x, 5) for x in margins(step_logits)]})
        print(f"caption {k}: {sd.caption(spec)!r} -> {text!r}")
    with open(os.path.join(a.out, "caption.json"), "w") as f:
        json.dump({"model": rel_model, "question": q, "prompt_text": templates.understanding_text(q),
                   "greedy": True, "max_new_tokens": 24, "dtype": "float32", "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
