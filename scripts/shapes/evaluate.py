"""Evaluates a janus-shapes checkpoint in PyTorch (the reference modules of scripts/reference/janus_torch.py).

Text -> image: for every shape x foreground colour x background colour (5 x 6 x 5 = 150 prompts
"a {color} {shape} on a {bg} background"), generate with the official CFG loop (facts §5, w = 5) both
greedily and by sampling (temperature 1, fixed torch seed per prompt), decode with the VQ, and check
  - background: the median border colour is nearest (in RGB) to the requested background colour,
  - foreground: the pixels far from the background form a region whose median colour is nearest to
    the requested colour,
  - shape: classify_shape() of that region (largest 4-connected component, bounding-box-normalised
    IoU against the five reference masks, and the fill ratio of the bounding box) is the requested one.
Image -> caption: freshly drawn images (a seed the training never used) -> preprocessing (facts §4.1) ->
  understanding prompt with "Describe this image in detail." -> greedy caption; the caption must name
  the right foreground colour and shape (background reported too). Also on 128x128 drawings that the
  preprocessing downsizes (bicubic) to the model's size.
VQ round trip: freshly drawn images -> VQ encode -> codes -> VQ decode -> the same analyser; text -> image
  can only be as good as this (the gate for training the language model on the VQ's codes).
The classifier is itself checked on drawn (ground-truth) images first.

Usage: /usr/bin/python3 scripts/shapes/evaluate.py [--model-dir DIR] [--n-captions 200] [--json OUT]
       /usr/bin/python3 scripts/shapes/evaluate.py --vq-state build-shapes/train/vqdec.pt   (VQ only: a
           gen_vision_model state dict of train.py's work dir, with the dims of shapes_model.py)
"""
import argparse
import json
import os
import time

import blas_env

blas_env.ensure(blas_env.threads_from_argv())

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

import bpe_tokenizer as bpe  # noqa: E402
import build_tokenizer  # noqa: E402
import shapes_data as sd  # noqa: E402
import templates  # noqa: E402
import shapes_model  # noqa: E402
from shapes_model import jt  # noqa: E402

PALETTE = np.array([sd.COLORS[c] for c in sd.COLOR_NAMES], dtype=np.float64)


def load(model_dir):
    cfg = jt.JanusConfig.from_hf_dict(json.load(open(os.path.join(model_dir, "config.json"))))
    model = jt.MultiModalityCausalLM(cfg)
    jt.load_janus_bin(os.path.join(model_dir, "pytorch_model.bin"), model)
    model.eval()
    tok = bpe.Tokenizer(os.path.join(model_dir, "tokenizer.json"))
    return model, tok


def nearest_color(rgb):
    return sd.COLOR_NAMES[int(np.argmin(((PALETTE - np.asarray(rgb, np.float64)) ** 2).sum(1)))]


def _template(shape, n=32):
    img = Image.new("L", (n * 4, n * 4), 0)
    poly = sd.shape_polygon(shape, n * 2, n * 2, n * 3)
    dr = ImageDraw.Draw(img)
    if poly is None:
        dr.ellipse([n * 0.5, n * 0.5, n * 3.5, n * 3.5], fill=255)
    else:
        dr.polygon(poly, fill=255)
    return _normalise(np.asarray(img) > 127, n)


def _normalise(mask, n=32):
    """Crop a boolean mask to its bounding box and resample to n x n (nearest)."""
    ys, xs = np.nonzero(mask)
    crop = mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    yi = (np.arange(n) + 0.5) * crop.shape[0] / n
    xi = (np.arange(n) + 0.5) * crop.shape[1] / n
    return crop[yi.astype(int)][:, xi.astype(int)]


TEMPLATES = {s: _template(s) for s in sd.SHAPES}


def largest_component(mask):
    """Largest 4-connected component of a boolean mask (iterative flood fill)."""
    lab = np.zeros(mask.shape, np.int32)
    best, best_n, cur = None, 0, 0
    H, W = mask.shape
    for y0, x0 in zip(*np.nonzero(mask)):
        if lab[y0, x0]:
            continue
        cur += 1
        stack, n = [(y0, x0)], 0
        lab[y0, x0] = cur
        while stack:
            y, x = stack.pop()
            n += 1
            for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= yy < H and 0 <= xx < W and mask[yy, xx] and not lab[yy, xx]:
                    lab[yy, xx] = cur
                    stack.append((yy, xx))
        if n > best_n:
            best, best_n = cur, n
    return lab == best if best else np.zeros_like(mask)


def analyse(img):
    """uint8 [S,S,3] -> dict(bg, fg, shape, fill, iou) describing the picture (None fields if no object)."""
    a = img.astype(np.float64)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    bg_rgb = np.median(border, axis=0)
    far = np.sqrt(((a - bg_rgb) ** 2).sum(-1)) > 70
    out = {"bg": nearest_color(bg_rgb), "fg": None, "shape": None, "fill": 0.0, "iou": 0.0}
    comp = largest_component(far)
    if comp.sum() < 12:
        return out
    out["fg"] = nearest_color(np.median(a[comp], axis=0))
    ys, xs = np.nonzero(comp)
    out["fill"] = float(comp.sum() / ((ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)))
    m = _normalise(comp)
    ious = {s: float((m & t).sum() / max(1, (m | t).sum())) for s, t in TEMPLATES.items()}
    out["shape"] = max(ious, key=ious.get)
    out["iou"] = ious[out["shape"]]
    return out


@torch.no_grad()
def generate(model, tok, prompt, greedy, seed, cfg_weight=5.0, temperature=1.0):
    ids = templates.generation_ids(tok, prompt)
    rows = jt.cfg_rows(ids, 1, tok.token_id(bpe.PAD))
    n = (model.cfg.vq.image_size // model.cfg.vq.downsample()) ** 2
    g = torch.Generator().manual_seed(seed)
    r = jt.generate_image_codes(model, rows, n, cfg_weight=cfg_weight, temperature=temperature, greedy=greedy,
                                generator=g)
    codes = torch.from_numpy(r["codes"]).long()
    img = jt.decoded_to_uint8(model.gen_vision_model.decode_code(codes))[0]
    return ids, r, img


@torch.no_grad()
def caption_image(model, tok, img_u8, question=sd.QUESTIONS[0], max_new=24):
    """uint8 image (any size) -> (prompt ids, caption token ids, text). Greedy, facts §4."""
    S = model.cfg.vision.image_size
    _, _, px = jt.preprocess_image(Image.fromarray(img_u8), image_size=S)
    ids = templates.understanding_ids(tok, question, model.cfg.vision.num_patches())
    emb = model.prepare_inputs_embeds(torch.tensor([ids]), torch.from_numpy(px)[None], tok.token_id(bpe.IMG))
    toks, _ = jt.greedy_generate(model.language_model, ids, max_new, tok.token_id(bpe.EOS), inputs_embeds=emb)
    return ids, [int(t) for t in toks], tok.decode(toks).strip()


def eval_t2i(model, tok, greedy, save_sheet=None):
    ok = {"bg": 0, "fg": 0, "shape": 0, "all": 0}
    n, fails, tiles = 0, [], []
    for si, shape in enumerate(sd.SHAPES):
        for ci, color in enumerate(sd.COLOR_NAMES):
            for bi, bg in enumerate(c for c in sd.COLOR_NAMES if c != color):
                prompt = f"a {color} {shape} on a {bg} background"
                _, _, img = generate(model, tok, prompt, greedy, seed=1000 + 100 * si + 10 * ci + bi)
                good, r = judge(img, bg, color, shape)
                for k in ok:
                    ok[k] += good[k]
                n += 1
                if not good["all"]:
                    fails.append(f"{prompt} -> bg {r['bg']} fg {r['fg']} shape {r['shape']}")
                tiles.append(img)
    if save_sheet:
        S = tiles[0].shape[0]
        cols = 25
        sheet = np.zeros(((len(tiles) + cols - 1) // cols * S, cols * S, 3), np.uint8)
        for i, t in enumerate(tiles):
            sheet[(i // cols) * S:(i // cols + 1) * S, (i % cols) * S:(i % cols + 1) * S] = t
        Image.fromarray(sheet).save(save_sheet)
    return {k: v / n for k, v in ok.items()}, n, fails


def eval_captions(model, tok, n, seed, draw_size):
    rng = np.random.default_rng(seed)
    ok = {"color": 0, "shape": 0, "both": 0, "bg": 0}
    fails = []
    for i in range(n):
        s = sd.random_spec(rng)
        img = sd.draw(s, draw_size, rng)
        _, _, text = caption_image(model, tok, img, sd.QUESTIONS[i % len(sd.QUESTIONS)] if i % 4 == 3 else sd.QUESTIONS[0])
        c, sh, bg = sd.parse_caption(text)
        g = {"color": c == s["color"], "shape": sh == s["shape"], "bg": bg == s["bg"]}
        g["both"] = g["color"] and g["shape"]
        for k in ok:
            ok[k] += g[k]
        if not g["both"]:
            fails.append(f"{sd.caption(s)} -> {text}")
    return {k: v / n for k, v in ok.items()}, fails


def judge(img, bg, color, shape):
    """analyse(img) against the requested fields -> ({"bg","fg","shape","all": bool}, analysis)."""
    r = analyse(img)
    g = {"bg": r["bg"] == bg, "fg": r["fg"] == color, "shape": r["shape"] == shape}
    g["all"] = all(g.values())
    return g, r


@torch.no_grad()
def vq_reconstruct(vq, u8, patchwise):
    """uint8 pictures [B,S,S,3] -> VQ codes -> decoded uint8 pictures [B,S,S,3]."""
    x = (torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255.0 - 0.5) / 0.5
    return jt.decoded_to_uint8(vq.decode_code(shapes_model.image_codes(vq, x, patchwise)))


@torch.no_grad()
def eval_vq_roundtrip(vq, size, n=300, seed=4343, fails_out=None, patchwise=False):
    """Fresh drawn images -> VQ codes (shapes_model.image_codes) -> decoded picture -> judge(); fraction with background,
    foreground colour and shape all right (per field too) and the mean absolute pixel error (0..255)."""
    rng = np.random.default_rng(seed)
    ok = {"bg": 0, "fg": 0, "shape": 0, "all": 0}
    err = 0.0
    for i in range(0, n, 50):
        specs = [sd.random_spec(rng) for _ in range(min(50, n - i))]
        u8 = np.stack([sd.draw(s, size, rng) for s in specs])
        rec = vq_reconstruct(vq, u8, patchwise)
        err += float(np.abs(rec.astype(np.float64) - u8).sum())
        for s, img in zip(specs, rec):
            g, r = judge(img, s["bg"], s["color"], s["shape"])
            for k in ok:
                ok[k] += g[k]
            if not g["all"] and fails_out is not None:
                fails_out.append(f"{sd.caption(s)} -> bg {r['bg']} fg {r['fg']} shape {r['shape']}")
    res = {k: v / n for k, v in ok.items()}
    res["mean_abs_err"] = err / (n * size * size * 3)
    return res


@torch.no_grad()
def eval_vq_canonical(vq, size, stride=3, patchwise=False):
    """The ceiling of text -> image: the canonical picture of every stride-th spec of sd.all_specs() (what
    train.py's language model learns to draw) -> codes -> decoded -> judge(); fractions as above,
    plus the all-three fraction per shape."""
    specs = sd.all_specs()[::stride]
    ok = {"bg": 0, "fg": 0, "shape": 0, "all": 0}
    per_shape = {s: [0, 0] for s in sd.SHAPES}
    for i in range(0, len(specs), 50):
        batch = specs[i:i + 50]
        rec = vq_reconstruct(vq, np.stack([sd.draw(s, size, None, jitter=False) for s in batch]), patchwise)
        for s, img in zip(batch, rec):
            g, _ = judge(img, s["bg"], s["color"], s["shape"])
            for k in ok:
                ok[k] += g[k]
            per_shape[s["shape"]][0] += g["all"]
            per_shape[s["shape"]][1] += 1
    res = {k: v / len(specs) for k, v in ok.items()}
    res["all_by_shape"] = {k: round(a / n, 3) for k, (a, n) in per_shape.items()}
    return res


def check_classifier(n=300, seed=4242, size=64):
    rng = np.random.default_rng(seed)
    good = 0
    for _ in range(n):
        s = sd.random_spec(rng)
        r = analyse(sd.draw(s, size, rng))
        good += r["bg"] == s["bg"] and r["fg"] == s["color"] and r["shape"] == s["shape"]
    return good / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=build_tokenizer.DEFAULT_OUT)
    ap.add_argument("--n-captions", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    ap.add_argument("--sheet", default=None, help="write a contact sheet of the greedy grid here")
    ap.add_argument("--skip-sampled", action="store_true")
    ap.add_argument("--skip-t2i", action="store_true")
    ap.add_argument("--n-vq", type=int, default=300, help="images for the VQ round-trip check")
    ap.add_argument("--vq-state", default=None, help="evaluate only this VQ state dict (train.py work dir)")
    ap.add_argument("--image-size", type=int, default=64, help="with --vq-state")
    ap.add_argument("--patchwise", type=int, default=0, help="with --vq-state: codes per 16 x 16 patch (train.py --vq-patchwise)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.time()
    if a.vq_state:
        state = torch.load(a.vq_state)
        K = state["quantize.embedding.weight"].shape[0]  # 1024, or fewer after train.py's merge stage
        vq = jt.VQModel(shapes_model.make_config(539, a.image_size, dims={"codebook": K}).vq)
        vq.load_state_dict(state)
        vq.eval()
        print(f"classifier accuracy on drawn images: {check_classifier(size=a.image_size):.3f}")
        fails = []
        print(f"VQ round trip of {a.n_vq} fresh images: {eval_vq_roundtrip(vq, a.image_size, a.n_vq, fails_out=fails, patchwise=a.patchwise)}")
        for f in fails[:12]:
            print("   fail:", f)
        print(f"VQ round trip of canonical pictures: {eval_vq_canonical(vq, a.image_size, patchwise=a.patchwise)}")
        return
    model, tok = load(a.model_dir)
    S = model.cfg.vision.image_size
    res = {"classifier_on_drawn_images": check_classifier(size=S)}
    print(f"classifier accuracy on drawn images: {res['classifier_on_drawn_images']:.3f}", flush=True)
    fails = []
    patchwise = bool(json.load(open(os.path.join(a.model_dir, "config.json"))).get("janus_shapes", {}).get("vq_patchwise", 0))
    res["vq_roundtrip"] = eval_vq_roundtrip(model.gen_vision_model, S, a.n_vq, fails_out=fails, patchwise=patchwise)
    print(f"VQ round trip of {a.n_vq} fresh images: {res['vq_roundtrip']}", flush=True)
    for f in fails[:8]:
        print("   fail:", f)
    res["vq_canonical"] = eval_vq_canonical(model.gen_vision_model, S, patchwise=patchwise)
    print(f"VQ round trip of canonical pictures (the text -> image ceiling): {res['vq_canonical']}", flush=True)
    if not a.skip_t2i:
        acc, n, fails = eval_t2i(model, tok, greedy=True, save_sheet=a.sheet)
        res["t2i_greedy"] = acc
        print(f"t2i greedy (cfg 5) over {n} prompts: {acc}", flush=True)
        for f in fails[:12]:
            print("   fail:", f)
    if not a.skip_sampled and not a.skip_t2i:
        acc, n, fails = eval_t2i(model, tok, greedy=False)
        res["t2i_sampled"] = acc
        print(f"t2i sampled (cfg 5, T 1) over {n} prompts: {acc}", flush=True)
        for f in fails[:6]:
            print("   fail:", f)
    acc, fails = eval_captions(model, tok, a.n_captions, seed=777, draw_size=S)
    res["captions"] = acc
    print(f"captions of {a.n_captions} fresh {S}px images: {acc}", flush=True)
    for f in fails[:8]:
        print("   fail:", f)
    acc, fails = eval_captions(model, tok, a.n_captions // 2, seed=778, draw_size=2 * S)
    res["captions_resized"] = acc
    print(f"captions of {a.n_captions // 2} fresh {2 * S}px images (resized by preprocessing): {acc}", flush=True)
    res["eval_seconds"] = round(time.time() - t0)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
