"""Trains janus-shapes on the CPU (Debian python3-torch), reproducibly (fixed seeds, one thread per process).

Stage vq: the VQ-16-layout image tokenizer (gen_vision_model) on freshly drawn shape images
  x [B,3,S,S] in [-1,1] -> encoder -> quant_conv -> [B,8,S/16,S/16] -> nearest L2-normalised codebook
  row (K = 1024) -> post_quant_conv -> decoder -> [B,3,S,S]. Cycle 1 (--vq-steps, cosine): the first
  --vq-ae-steps train it as a plain autoencoder on the normalised latent (no quantiser), then the codebook
  is seeded from latents and the quantiser is switched on. Loss: rec_loss() + codebook loss + 0.25
  commitment (LlamaGen recipe, on L2-normalised latents); unused codes are re-seeded from encoder outputs
  every 100 steps. -> vq1.pt. Cycle 2 (--vq2-steps, warm restart, fresh Adam and images) -> vq.pt.
  (--stage vq2 runs cycle 2 alone from vq1.pt.)
Stage vq3: a third warm-restart cycle of the whole VQ (--vq3-steps at --vq3-lr-scale x the peak lr) from
  vq2.pt -> vq3.pt, copied to vq.pt.
Stage vqdec: encoder, quant_conv and codebook of vq.pt frozen (codes unchanged), the decoder alone trains
  on (--vqdec-steps) -> vqdec.pt; optionally a second decoder-only cycle at half the peak learning rate
  (--vqdec2-steps, --stage vqdec2 alone) -> vqdec2.pt.
Opt-in options (off by default: the defaults alone make the third checkpoint's recipe; train_all.sh
  sets those of the shipped one; results in MODEL_CARD.md): stage vqpatch (--vqpatch-steps: the whole VQ
  on per-patch encoding, shapes_model.image_codes), stage vqcan (--vqcan-steps: decoder-only on half
  canonical pictures + edge loss), --vq-patchwise (codes per patch), --t2i-canonical (LM targets = codes
  of the canonical picture of each description), --prompt-defaults (unnamed size / position = medium,
  centred), --prompt-detail, --gen-corrupt (fed-back codes partly replaced, targets unchanged),
  --gen-label-smooth, --gen-cfg-loss W: every text -> image row is paired with its unconditional twin
  (same codes) and besides the cross-entropy of both rows, W x the cross-entropy of the guided logits
  u + w (c - u) (w = --gen-cfg-w, the reference 5) is added, so sampling with guidance picks what the
  conditional row learned (without it the unconditional row, near-certain once the first codes are fed
  back, has far lower tail logits than the conditional one and w = 5 lifts a tail code over the target);
  --more-init / --more-name and --mdec-init / --mdec-name chain `more` and `mdec` links;
  --mdec-canonical-frac, --mdec-edge, --mdec-shape-weights (decoder batches of mostly canonical pictures,
  the edge loss, stars weighted).
--bf16 1: every training forward pass under CPU bfloat16 autocast (autocast(): linear layers and
  convolutions in bfloat16, so logits and the guided combination are bfloat16; the cross-entropies,
  GroupNorm, the VQ quantiser and reconstruction losses, the weights and Adam stay float32): ~4x the
  float32 matrix-product rate on an AVX-512 BF16 core, ~2x per VQ step and ~1.5x per LM step here.
  Code assignment outside training (pools, canonical targets, merge) is float32 either way.
Stage merge (--merge-codes K' > 0): spherical k-means of the codes fresh pictures choose -> a K'-row
  codebook (vqm.pt, with the decoder of vqdec2 / vqdec / vq, the last cycle run); every later stage
  builds the model with K' codes.
Stage mdec: the decoder alone adapts to the merged codes (--mdec-steps) -> mdec.pt (exported).
Stage und: understanding only (needs no VQ): the language model, SigLIP-style encoder and aligner learn
  image -> caption with the understanding template and the default system prompt (facts §3.4), the image
  spliced in as BOI + N aligner(SigLIP) embeddings + EOI (facts §4.2); cross-entropy of lm_head on
  " {caption}<｜end▁of▁sentence｜>", plus training-only auxiliary heads on the SigLIP features (attributes
  and per-patch foreground coverage; not exported). Cycle 1 (--und-steps) -> und1.pt, cycle 2 (warm
  restart at half the peak lr, fresh pool, --und2-steps) -> und.pt. (--stage und2 runs cycle 2 alone.)
Stage joint: from und.pt and the VQ of vqm.pt (vq.pt without a merge). A pool of drawn images is encoded once to codes
  [n, N] (N = (S/16)^2). Then everything but the VQ trains jointly on
  (a) text -> image: "<|User|>: {prompt}\n\n<|Assistant|>:<begin_of_image>" (facts §5.1) then the codes
      fed back as gen_aligner(gen_embed(code)); cross-entropy of gen_head on the N codes. 12% of the
      prompts are replaced by the unconditional row (BOS, pads, BOI; facts §5.2) so CFG works;
  (b) image -> caption as in stage und (--joint-und-batch rows per step). -> model.pt
Stage more: joint continued on a fresh pool (--more-pool images, another seed) for --more-steps at half
  the peak learning rate -> model_more.pt (off when --more-steps 0).
Stage und3: more's model with everything frozen but the SigLIP encoder and aligner, image -> caption on a
  fresh pool (--und3-steps, half the peak lr) -> model_und3.pt: captions improve, text -> image is
  untouched (it uses neither module).
Stage export: und3's (else more's, else joint's) model with the decoder of mdec (without a merge: vqdec or vqdec2) -> config.json
  (multi_modality layout, explicit small dims), pytorch_model.bin (torch.save of the official-name state
  dict, f32), preprocessor_config.json, processor_config.json, next to the tokenizer files (built first by
  build_tokenizer.py).
--stage all runs vq (cycles 1-3), vqdec, vqdec2, und, merge, mdec, joint, more, und3, export in order
(scripts/shapes/train_all.sh runs them as separate processes, as the shipped checkpoint was made). Each
stage is a function of the files of the stages before it only (fresh optimiser, own seeds; results depend
on the thread count), so independent ones may run side by side: und || the VQ stages; joint (needs
vqm.pt and und.pt) || mdec; then more; then export.

Usage: /usr/bin/python3 scripts/shapes/train.py [--stage all|vq|vq2|vq3|vqdec|vqdec2|merge|mdec|und|und2|joint|more|und3|export]
       [--threads 1] [--quick]
The intermediate checkpoints go to --work (default build-shapes/train, ignored by git).
"""
import argparse
import json
import math
import os
import time

import blas_env

blas_env.ensure(blas_env.threads_from_argv())

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import bpe_tokenizer as bpe
import build_tokenizer
import shapes_data as sd
import shapes_model
import templates
from shapes_model import jt

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def to_pixels(u8):
    """uint8 [B,S,S,3] -> f32 [B,3,S,S] in [-1,1] (the reference's normalisation, facts §4.1 step 5)."""
    x = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255.0
    return (x - 0.5) / 0.5


def draw_batch(rng, n, size):
    specs = [sd.random_spec(rng) for _ in range(n)]
    return specs, np.stack([sd.draw(s, size, rng) for s in specs])


def init_weights(model, seed):
    """GPT-style init for the transformer parts (N(0, 0.02) linears/embeddings, zero biases), the VQ keeps
    PyTorch's default conv init; gen_embed N(0,1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if name.startswith("gen_vision_model."):
                continue
            if name == "gen_embed.weight":
                p.copy_(torch.randn(p.shape, generator=g))
            elif p.dim() >= 2 or "pos_embed" in name or "latent" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
            elif name.endswith("bias"):
                p.zero_()
        # Position embeddings of the vision tower: 0.02 would be ~4% of the patch embedding's scale, so
        # "where" would be learned very slowly; start them at a scale comparable to the patch signal.
        for name, p in model.named_parameters():
            if name.endswith("pos_embed"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        # Residual output projections scaled down by depth (GPT-2).
        L = model.cfg.lm.num_hidden_layers
        for layer in model.language_model.model.layers:
            layer.self_attn.o_proj.weight.mul_(1 / math.sqrt(2 * L))
            layer.mlp.down_proj.weight.mul_(1 / math.sqrt(2 * L))


# ---------------------------------------------------------------------------------------------------
# Stage 1: VQ
# ---------------------------------------------------------------------------------------------------

def autocast(args):
    """--bf16: forward passes under CPU autocast (matrix products and convolutions in bfloat16 through
    oneDNN, ~4x the float32 OpenBLAS rate on an AVX-512 BF16 core; weights and optimiser stay float32,
    autocast computes cross-entropies in float32)."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(args.bf16))


def group_norm_f32(self, x):
    """GroupNorm.forward for --bf16: torch 1.13's CPU group_norm takes no bfloat16 input with float32
    weights, so the norm runs in float32 (the next convolution casts back under autocast)."""
    return F.group_norm(x.float(), self.num_groups, self.weight, self.bias, self.eps)


def rec_loss(rec, x):
    """L1 + L2 on the output clamped to [-1,1] (what the uint8 conversion keeps, facts §5.5: the decoder
    may saturate flat colours) plus 0.25 x unclamped L2 (keeps gradients alive outside the range)."""
    rc = rec.clamp(-1, 1)
    return (rc - x).abs().mean() + F.mse_loss(rc, x) + 0.25 * F.mse_loss(rec, x)


def train_vq(model, args):
    vq = model.gen_vision_model
    torch.manual_seed(args.seed + 1)
    with torch.no_grad():
        vq.quantize.embedding.weight.copy_(torch.randn(vq.quantize.embedding.weight.shape))
    rng = np.random.default_rng(args.seed + 1)
    opt = torch.optim.Adam(vq.parameters(), lr=args.vq_lr, betas=(0.5, 0.9))
    K = vq.cfg.codebook_size
    usage = torch.zeros(K)
    t0 = time.time()
    for step in range(args.vq_steps):
        lr = args.vq_lr * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / args.vq_steps)))
        for gr in opt.param_groups:
            gr["lr"] = lr
        _, u8 = draw_batch(rng, args.vq_batch, args.image_size)
        x = to_pixels(u8)
        with autocast(args):
            h = vq.encode_continuous(x).float()                       # [B,8,g,g]
        zn = F.normalize(h.permute(0, 2, 3, 1), dim=-1)               # [B,g,g,8]
        if step < args.vq_ae_steps:  # warm-up as a plain autoencoder on the normalised latent
            with autocast(args):
                rec = vq.decode(zn.permute(0, 3, 1, 2)).float()
            codes = torch.zeros(1, dtype=torch.long)
            l_rec = rec_loss(rec, x)
            l_vq = torch.zeros(())
        else:
            if step == args.vq_ae_steps and step > 0:  # codebook <- random latents of a few batches
                with torch.no_grad():
                    lat = torch.cat([F.normalize(vq.encode_continuous(to_pixels(draw_batch(rng, 32, args.image_size)[1]))
                                                 .permute(0, 2, 3, 1).reshape(-1, zn.shape[-1]), dim=-1)
                                     for _ in range(4)])
                    pick = torch.randint(0, lat.shape[0], (K,), generator=torch.Generator().manual_seed(step))
                    vq.quantize.embedding.weight.copy_(lat[pick] + 0.02 * torch.randn(K, lat.shape[1]))
            z_q, codes, _ = vq.quantize(h)
            with autocast(args):
                rec = vq.decode(z_q).float()
            e = vq.quantize.normalized_codebook()[codes.reshape(-1)].view(zn.shape)
            l_rec = rec_loss(rec, x)
            l_vq = F.mse_loss(e, zn.detach()) + 0.25 * F.mse_loss(zn, e.detach())
        loss = l_rec + l_vq
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step >= args.vq_ae_steps:
            usage += torch.bincount(codes.reshape(-1), minlength=K).float()
        if (step + 1) % 100 == 0 and step > args.vq_ae_steps + 50 and step + 1 < args.vq_steps * 0.8:
            dead = (usage == 0).nonzero().reshape(-1)
            if len(dead):  # re-seed unused codes from this batch's latents (plus a little noise)
                with torch.no_grad():
                    src = zn.reshape(-1, zn.shape[-1])
                    pick = torch.randint(0, src.shape[0], (len(dead),), generator=torch.Generator().manual_seed(step))
                    vq.quantize.embedding.weight[dead] = src[pick] + 0.01 * torch.randn(len(dead), src.shape[1])
            usage.zero_()
        if (step + 1) % 250 == 0:
            torch.save(vq.state_dict(), os.path.join(args.work, "vq_partial.pt"))
        if step % 50 == 0 or step == args.vq_steps - 1:
            log(f"vq step {step}/{args.vq_steps} rec {l_rec.item():.4f} vq {l_vq.item():.4f} "
                f"codes/batch {len(torch.unique(codes))} lr {lr:.2e} {time.time() - t0:.0f}s")
    return time.time() - t0


def train_vq_continue(model, args, steps, peak_lr, seed_offset, name, patchwise=False, canonical_frac=0.0,
                      edge_weight=0.0, rng=None):
    """A further VQ cycle (warm restart): the whole quantised VQ (encoder, codebook, decoder) from the
    previous cycle's weights, a fresh Adam, 50 warm-up steps then cosine over `steps` from `peak_lr`, fresh
    images (own seed); unused codes re-seeded every 100 steps during the first 80 %. patchwise: latents
    from shapes_model.patch_latents (stage vqpatch); canonical_frac / edge_weight as in train_vq_decoder."""
    vq = model.gen_vision_model
    rng = rng if rng is not None else np.random.default_rng(args.seed + seed_offset)
    opt = torch.optim.Adam(vq.parameters(), lr=peak_lr, betas=(0.5, 0.9))
    K = vq.cfg.codebook_size
    usage = torch.zeros(K)
    t0 = time.time()
    for step in range(steps):
        lr = peak_lr * min(1.0, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for gr in opt.param_groups:
            gr["lr"] = lr
        x = to_pixels(mixed_batch(rng, args.vq_batch, args.image_size, canonical_frac))
        with autocast(args):
            h = (shapes_model.patch_latents(vq, x) if patchwise else vq.encode_continuous(x)).float()
        zn = F.normalize(h.permute(0, 2, 3, 1), dim=-1)
        z_q, codes, _ = vq.quantize(h)
        with autocast(args):
            rec = vq.decode(z_q).float()
        e = vq.quantize.normalized_codebook()[codes.reshape(-1)].view(zn.shape)
        l_rec = rec_loss(rec, x) + (edge_weight * edge_loss(rec, x) if edge_weight else 0.0)
        l_vq = F.mse_loss(e, zn.detach()) + 0.25 * F.mse_loss(zn, e.detach())
        opt.zero_grad()
        (l_rec + l_vq).backward()
        opt.step()
        usage += torch.bincount(codes.reshape(-1), minlength=K).float()
        if (step + 1) % 100 == 0 and step + 1 < steps * 0.8:
            dead = (usage == 0).nonzero().reshape(-1)
            if len(dead):
                with torch.no_grad():
                    src = zn.reshape(-1, zn.shape[-1])
                    pick = torch.randint(0, src.shape[0], (len(dead),), generator=torch.Generator().manual_seed(step))
                    vq.quantize.embedding.weight[dead] = src[pick] + 0.01 * torch.randn(len(dead), src.shape[1])
            usage.zero_()
        if (step + 1) % 250 == 0:
            torch.save(vq.state_dict(), os.path.join(args.work, f"{name}_partial.pt"))
        if step % 50 == 0 or step == steps - 1:
            log(f"{name} step {step}/{steps} rec {l_rec.item():.4f} vq {l_vq.item():.4f} "
                f"codes/batch {len(torch.unique(codes))} lr {lr:.2e} {time.time() - t0:.0f}s")
    return time.time() - t0


def mixed_batch(rng, n, size, canonical_frac, shape_weights=None):
    """n pictures: round(n * canonical_frac) canonical ones (sd.all_specs()), the rest fresh jittered draws."""
    n_can = int(round(n * canonical_frac))
    _, u8 = draw_batch(rng, n - n_can, size)
    return np.concatenate([canonical_batch(rng, n_can, size, shape_weights)[1], u8]) if n_can else u8


def train_vq_patch(model, args, steps, peak_lr, seed_offset=25):
    """Stage "vqpatch": the whole VQ retrains with per-patch encoding (shapes_model.patch_latents: each
    16 x 16 patch through the encoder alone), so that a patch's code depends on that patch only and one description
    always gives the same codes. Starts from the previous VQ; its codebook is first re-seeded by spherical
    k-means of per-patch latents (the old rows were placed for whole-picture latents). Half of every batch
    (--vqcan-canonical-frac) are canonical pictures (what the LM learns to draw); loss as in
    train_vq_continue plus --vqcan-edge x edge_loss."""
    vq = model.gen_vision_model
    rng = np.random.default_rng(args.seed + seed_offset)
    K = vq.cfg.codebook_size
    with torch.no_grad():
        lat = torch.cat([F.normalize(shapes_model.patch_latents(vq, to_pixels(mixed_batch(rng, 50, args.image_size, 0.5)))
                                     .permute(0, 2, 3, 1).reshape(-1, vq.cfg.codebook_embed_dim), dim=-1)
                         for _ in range(8)])
        C, n = spherical_kmeans(lat, K, 10, args.seed + seed_offset)
        vq.quantize.embedding.weight.copy_(C)
        log(f"vqpatch: codebook <- k-means of {len(lat)} patch latents ({int((n > 0).sum())} of {K} rows used)")
    return train_vq_continue(model, args, steps, peak_lr, seed_offset, "vqpatch", patchwise=True,
                             canonical_frac=args.vqcan_canonical_frac, edge_weight=args.vqcan_edge, rng=rng)


def edge_loss(rec, x):
    """L1 between the horizontal and vertical pixel differences of the clamped output and the target:
    rewards sharp outlines (thin star points) that L1 + L2 alone blur away."""
    rc = rec.clamp(-1, 1)
    return ((rc[..., 1:] - rc[..., :-1]) - (x[..., 1:] - x[..., :-1])).abs().mean() + \
        ((rc[..., 1:, :] - rc[..., :-1, :]) - (x[..., 1:, :] - x[..., :-1, :])).abs().mean()


def canonical_batch(rng, n, size, shape_weights=None):
    """n canonical (unjittered) pictures of specs drawn from sd.all_specs(): uniformly, or with
    shape_weights {shape: w} (default 1) as relative weights of the specs of each shape."""
    every = sd.all_specs()
    if shape_weights:
        w = np.array([shape_weights.get(s["shape"], 1.0) for s in every])
        specs = [every[i] for i in rng.choice(len(every), size=n, p=w / w.sum())]
    else:
        specs = [every[i] for i in rng.integers(len(every), size=n)]
    return specs, np.stack([sd.draw(s, size, None, jitter=False) for s in specs])


def train_vq_decoder(model, args, steps, peak_lr, seed_offset=6, name="vqdec", canonical_frac=0.0, edge_weight=0.0,
                     patchwise=False, shape_weights=None):
    """Stage "vqdec": encoder, quant_conv and codebook frozen (so every image keeps its codes), only
    post_quant_conv + decoder keep training on the reconstruction loss. Independent of the LM stages.
    canonical_frac of each batch are canonical pictures (what the language model learns to draw, stage
    vqcan), the rest fresh jittered draws; edge_weight x edge_loss() is added to the loss."""
    vq = model.gen_vision_model
    rng = np.random.default_rng(args.seed + seed_offset)
    params = list(vq.post_quant_conv.parameters()) + list(vq.decoder.parameters())
    opt = torch.optim.Adam(params, lr=peak_lr, betas=(0.5, 0.9))
    t0 = time.time()
    for step in range(steps):
        lr = peak_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for gr in opt.param_groups:
            gr["lr"] = lr
        x = to_pixels(mixed_batch(rng, args.vqdec_batch, args.image_size, canonical_frac, shape_weights))
        with torch.no_grad():
            if patchwise:
                g = args.image_size // 16
                z_q = vq.quantize.get_codebook_entry(shapes_model.image_codes(vq, x, True), g, g)
            else:
                z_q, codes, _ = vq.quantize(vq.encode_continuous(x))
        with autocast(args):
            rec = vq.decode(z_q).float()
        loss = rec_loss(rec, x) + (edge_weight * edge_loss(rec, x) if edge_weight else 0.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % 250 == 0:
            torch.save(vq.state_dict(), os.path.join(args.work, f"{name}_partial.pt"))
        if step % 50 == 0 or step == steps - 1:
            log(f"{name} step {step}/{steps} loss {loss.item():.4f} lr {lr:.2e} {time.time() - t0:.0f}s")
    return time.time() - t0


@torch.no_grad()
def encode_canonical(model, args):
    """Stage joint's text -> image targets with --t2i-canonical: the codes [1650, N] of the canonical
    picture of every spec (sd.all_specs()). One code sequence per description, so the language model
    learns a deterministic target instead of the ~20 % of codes per picture that the draw jitter flips."""
    vq = model.gen_vision_model
    specs = sd.all_specs()
    codes = []
    for i in range(0, len(specs), 250):
        u8 = np.stack([sd.draw(s, args.image_size, None, jitter=False) for s in specs[i:i + 250]])
        codes.append(shapes_model.image_codes(vq, to_pixels(u8), args.vq_patchwise))
    codes = torch.cat(codes)
    log(f"canonical targets: {len(specs)} pictures, {len(torch.unique(codes))} distinct codes used")
    return specs, codes


@torch.no_grad()
def encode_pool(model, args):
    rng = np.random.default_rng(args.seed + 2)
    specs, imgs, codes = [], [], []
    vq = model.gen_vision_model
    for i in range(0, args.joint_pool, 256):
        s, u8 = draw_batch(rng, min(256, args.joint_pool - i), args.image_size)
        specs += s
        imgs.append(u8)
        if not args.t2i_canonical:  # the pictures are only captioned otherwise
            codes.append(shapes_model.image_codes(vq, to_pixels(u8), args.vq_patchwise))
    imgs = np.concatenate(imgs)
    if args.t2i_canonical:
        log(f"pool: {len(specs)} images (captions only)")
        return specs, imgs, None
    codes = torch.cat(codes)
    rec = vq.decode_code(codes[:64])
    err = (rec - to_pixels(imgs[:64])).abs().mean().item()
    log(f"pool: {len(specs)} images, {len(torch.unique(codes))} distinct codes used, "
        f"recon L1 of the first 64 = {err:.4f}")
    return specs, imgs, codes


def spherical_kmeans(lat, K, iters, seed):
    """Unit vectors lat [n, D] -> (centres [K, D] (unit; a centre without members keeps its start), member
    counts [K] of the last assignment); starts from K random rows (own seed)."""
    g = torch.Generator().manual_seed(seed)
    C = lat[torch.randperm(len(lat), generator=g)[:K]].clone()
    for _ in range(iters):
        a = torch.cdist(lat, C).argmin(1)
        sums = torch.zeros_like(C).index_add_(0, a, lat)
        n = torch.bincount(a, minlength=K).float()
        C = torch.where(n[:, None] > 0, F.normalize(sums / n.clamp(min=1)[:, None], dim=-1), C)
    return C, n


@torch.no_grad()
def merge_codebook(vq, args):
    """Stage "merge": the trained VQ keeps many near-duplicate codes (dead-code re-seeding keeps all K
    alive, so e.g. one flat background colour is spread over ~10 codes by the colour jitter). Duplicates
    split the LM's probability mass between equivalent codes, so greedy / guided sampling picks a wrong
    colour whenever one code of another group wins. K-means (spherical, --merge-iters rounds, own seed)
    over the codes chosen for --merge-images fresh pictures gives --merge-codes centres: the new, smaller
    codebook [K', 8]. Encoder and decoder are unchanged (the decoder is then adapted by stage mdec)."""
    rng = np.random.default_rng(args.seed + 31)
    cb = vq.quantize.normalized_codebook()
    chosen = []
    for i in range(0, args.merge_images, 250):
        _, u8 = draw_batch(rng, min(250, args.merge_images - i), args.image_size)
        zn = F.normalize(vq.encode_continuous(to_pixels(u8)).permute(0, 2, 3, 1).reshape(-1, cb.shape[1]), dim=-1)
        chosen.append(cb[torch.cdist(zn, cb).argmin(1)])
    lat = torch.cat(chosen)                                            # [n, 8], rows of the old codebook
    K2 = args.merge_codes
    C, n = spherical_kmeans(lat, K2, args.merge_iters, args.seed + 32)
    log(f"merge: {len(lat)} code vectors of {len(torch.unique(lat, dim=0))} distinct codes -> {K2} centres "
        f"({int((n > 0).sum())} non-empty)")
    state = {k: v for k, v in vq.state_dict().items()}
    state["quantize.embedding.weight"] = C.clone()
    return state


# ---------------------------------------------------------------------------------------------------
# Stage 2: LM (text -> image codes, image -> caption)
# ---------------------------------------------------------------------------------------------------

def pad_stack(seqs, H):
    T = max(s.shape[0] for s in seqs)
    out = torch.zeros(len(seqs), T, H)
    mask = torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : s.shape[0]] = s
        mask[i, : s.shape[0]] = 1
    return out, mask


def gen_batch(model, tok, specs, codes, idx, rng, p_uncond, prompt_detail=None, prompt_defaults=False, corrupt=0.0,
              paired=False):
    """Text -> image rows: embeds [B,T,H], mask [B,T], positions of the N predictions per row, targets.
    paired: 2B rows, the B conditional rows followed by their unconditional twins (same codes; p_uncond unused)."""
    emb_tok = model.language_model.get_input_embeddings()
    seqs, pos = [], []
    N = codes.shape[1]
    fed = codes[idx, :-1].clone()
    if corrupt > 0:  # a share of the fed-back codes replaced by random codes; the targets stay the true ones
        hit = torch.from_numpy(rng.random(fed.shape) < corrupt)
        fed[hit] = torch.from_numpy(rng.integers(model.gen_embed.weight.shape[0], size=int(hit.sum()))).to(fed.dtype)
    img_emb = model.prepare_gen_img_embeds(fed.reshape(-1)).view(len(idx), N - 1, -1)
    rows = []
    for b, i in enumerate(idx):
        ids = templates.generation_ids(tok, sd.random_prompt(specs[i], rng, prompt_detail, prompt_defaults))
        if not paired and rng.random() < p_uncond:
            ids = templates.uncond_ids(tok, ids)
        rows.append((b, ids))
    if paired:
        rows += [(b, templates.uncond_ids(tok, ids)) for b, ids in rows]
    for b, ids in rows:
        L = len(ids)
        seqs.append(torch.cat([emb_tok(torch.tensor(ids)), img_emb[b]], 0))
        pos.append(torch.arange(L - 1, L - 1 + N))
    x, mask = pad_stack(seqs, emb_tok.weight.shape[1])
    tgt = codes[idx].long()
    return x, mask, torch.stack(pos), torch.cat([tgt, tgt]) if paired else tgt


def und_batch(model, tok, specs, imgs, idx, rng, n_img_tokens):
    """Image -> caption rows: embeds [B,T,H], mask, answer positions (flattened) and targets."""
    emb_tok = model.language_model.get_input_embeddings()
    img_id = tok.token_id(bpe.IMG)
    f, al = model.image_features(to_pixels(imgs[idx]))              # [B,N,W], [B,N,H]
    seqs, rows, cols, tg = [], [], [], []
    for b, i in enumerate(idx):
        q = sd.QUESTIONS[rng.integers(len(sd.QUESTIONS))]
        prompt = templates.understanding_ids(tok, q, n_img_tokens)
        ans = tok.encode(templates.answer_text(sd.caption(specs[i])), add_bos=False)
        ids = torch.tensor(prompt + ans)
        e = emb_tok(ids)
        m = ids == img_id
        e = torch.where(m[:, None], torch.zeros_like(e), e)
        e = e.index_put((m.nonzero().reshape(-1),), al[b].to(e.dtype))
        seqs.append(e)
        P = len(prompt)
        rows += [b] * len(ans)
        cols += list(range(P - 1, P - 1 + len(ans)))
        tg += ans
    x, mask = pad_stack(seqs, emb_tok.weight.shape[1])
    return x, mask, torch.tensor(rows), torch.tensor(cols), torch.tensor(tg), f


# Training-only auxiliary heads (not exported), so the vision encoder gets a direct signal about shape /
# size / position instead of only through the caption loss:
#   attributes: mean-pooled SigLIP features [B,W] -> logits of the five attributes (cross-entropy);
#   patch mask: every token's features [B,N,W] -> the foreground coverage of its patch on a 4 x 4 grid
#               of sub-cells [B,N,16] (binary cross-entropy against the drawn picture's coverage).
AUX_FIELDS = [("shape", sd.SHAPES), ("color", sd.COLOR_NAMES), ("bg", sd.COLOR_NAMES), ("size", sd.SIZE_NAMES),
              ("pos", sd.POSITION_NAMES)]


def make_aux_head(width, seed):
    torch.manual_seed(seed)
    head = torch.nn.Module()
    head.attr = torch.nn.Linear(width, sum(len(v) for _, v in AUX_FIELDS))
    head.mask = torch.nn.Linear(width, 16)
    return head


def patch_coverage(u8, patch):
    """uint8 [B,S,S,3] -> [B, (S/patch)^2, 16]: fraction of each patch's 4 x 4 sub-cells covered by
    pixels far (> 60 in RGB) from the median border colour, patches row-major as the ViT's tokens."""
    a = torch.from_numpy(u8).float()
    B, S = a.shape[0], a.shape[1]
    border = torch.cat([a[:, 0], a[:, -1], a[:, :, 0], a[:, :, -1]], 1)      # [B,4S,3]
    far = ((a - border.median(1).values[:, None, None]).norm(dim=-1) > 60).float()
    c = patch // 4
    cov = F.avg_pool2d(far[:, None], c)[:, 0]                                # [B, S/c, S/c]
    g = S // patch
    return cov.view(B, g, 4, g, 4).permute(0, 1, 3, 2, 4).reshape(B, g * g, 16)


def aux_loss(head, feats, specs, idx, u8, patch):
    logits = head.attr(feats.mean(1))                               # [B, sum of classes]
    loss, o = 0.0, 0
    for field, names in AUX_FIELDS:
        tgt = torch.tensor([names.index(specs[i][field]) for i in idx])
        loss = loss + F.cross_entropy(logits[:, o:o + len(names)], tgt)
        o += len(names)
    l_mask = F.binary_cross_entropy_with_logits(head.mask(feats), patch_coverage(u8, patch))
    return loss / len(AUX_FIELDS) + l_mask


def train_lm(model, tok, pool, args, steps, with_gen, seed_offset, gen_pool=None):
    """with_gen=False: understanding only (stage "und", needs no VQ; pool = (specs, imgs, None)).
    with_gen=True: joint text->image + understanding (stage "joint"); the text -> image rows come from
    gen_pool = (specs, codes) when given, else from pool's own codes."""
    specs, imgs, codes = pool
    gen_specs, gen_codes = gen_pool if gen_pool is not None else (specs, codes)
    torch.manual_seed(args.seed + seed_offset)
    rng = np.random.default_rng(args.seed + seed_offset)
    for p in model.gen_vision_model.parameters():
        p.requires_grad_(False)
    if with_gen:
        with torch.no_grad():  # start gen_embed from the VQ's (normalised) codebook: a meaningful init
            model.gen_embed.weight.copy_(model.gen_vision_model.quantize.normalized_codebook() * 2.0)
    aux = make_aux_head(model.cfg.vision.width, args.seed + seed_offset + 50)
    params = [p for n, p in model.named_parameters() if p.requires_grad] + list(aux.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lm_lr, betas=(0.9, 0.98))
    n_img = model.cfg.vision.num_patches()
    lm = model.language_model
    t0 = time.time()
    l_gen = torch.zeros(())
    for step in range(steps):
        lr = args.lm_lr * min(1.0, (step + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for gr in opt.param_groups:
            gr["lr"] = lr
        with autocast(args):  # --bf16: forward passes in bfloat16
            loss = 0.0
            if with_gen:
                gi = rng.integers(len(gen_specs), size=args.gen_batch)
                paired = args.gen_cfg_loss > 0
                x, mask, pos, tgt = gen_batch(model, tok, gen_specs, gen_codes, gi, rng, args.p_uncond, args.prompt_detail,
                                              bool(args.prompt_defaults), args.gen_corrupt, paired)
                h, _ = lm.model(inputs_embeds=x, attention_mask=mask)
                hp = h.gather(1, pos[:, :, None].expand(-1, -1, h.shape[-1]))
                logits = model.gen_head(hp)
                K = logits.shape[-1]
                l_gen = F.cross_entropy(logits.reshape(-1, K), tgt.reshape(-1), label_smoothing=args.gen_label_smooth)
                if paired:  # the guided logits of inference (facts §5.2) must also pick the target
                    lc, lu = logits[: len(gi)], logits[len(gi):]
                    guided = lu + args.gen_cfg_w * (lc - lu)
                    l_gen = l_gen + args.gen_cfg_loss * F.cross_entropy(guided.reshape(-1, K), tgt[: len(gi)].reshape(-1))
                loss = l_gen
            ui = rng.integers(len(specs), size=args.joint_und_batch if with_gen else args.und_batch)
            x, mask, rows, cols, tg, feats = und_batch(model, tok, specs, imgs, ui, rng, n_img)
            h, _ = lm.model(inputs_embeds=x, attention_mask=mask)
            l_und = F.cross_entropy(lm.lm_head(h[rows, cols]), tg)
            l_aux = aux_loss(aux, feats, specs, ui, imgs[ui], model.cfg.vision.patch_size)
            loss = loss + l_und + args.aux_weight * l_aux
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if with_gen and (step + 1) % 250 == 0:  # for inspection only; the recipe uses the final weights
            torch.save(model.state_dict(), os.path.join(args.work, "joint_partial.pt"))
        if step % 50 == 0 or step == steps - 1:
            log(f"{'joint' if with_gen else 'und'} step {step}/{steps} gen {l_gen.item():.4f} und {l_und.item():.4f} aux {l_aux.item():.3f} "
                f"lr {lr:.2e} {time.time() - t0:.0f}s")
    return time.time() - t0


def caption_cycle(model, tok, args, pool_seed_offset, steps, seed_offset):
    """A warm-restart image -> caption cycle (stages und2, und3): a fresh pool of --pool drawn images
    (seed + pool_seed_offset), half the peak learning rate; trains whatever requires grad."""
    rng = np.random.default_rng(args.seed + pool_seed_offset)
    pool = draw_batch(rng, args.pool, args.image_size) + (None,)
    lr = args.lm_lr
    args.lm_lr = lr * 0.5
    seconds = train_lm(model, tok, pool, args, steps, False, seed_offset)
    args.lm_lr = lr
    return seconds


# ---------------------------------------------------------------------------------------------------

def export(model, model_dir, meta):
    cfg = model.cfg.to_hf_dict(torch_dtype="float32")
    cfg["janus_shapes"] = meta
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    S = model.cfg.vision.image_size
    pre = {"background_color": [127, 127, 127], "do_normalize": True, "image_mean": [0.5, 0.5, 0.5],
           "image_processor_type": "VLMImageProcessor", "image_size": S, "image_std": [0.5, 0.5, 0.5],
           "min_size": 14, "processor_class": "VLChatProcessor", "rescale_factor": 0.00392156862745098}
    with open(os.path.join(model_dir, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
        f.write("\n")
    proc = {"add_special_token": False, "ignore_id": -100, "image_tag": bpe.IMG, "mask_prompt": True,
            "num_image_tokens": model.cfg.vision.num_patches(), "processor_class": "VLChatProcessor",
            "sft_format": "deepseek"}
    with open(os.path.join(model_dir, "processor_config.json"), "w") as f:
        json.dump(proc, f, indent=2)
        f.write("\n")
    sdict = jt.janus_state_dict(model)
    jt.save_torch_bin({k: v.float() for k, v in sdict.items()}, os.path.join(model_dir, "pytorch_model.bin"))
    log(f"exported to {model_dir}: {os.path.getsize(os.path.join(model_dir, 'pytorch_model.bin')) / 1e6:.2f} MB")


def build_model(tok, image_size, seed, codebook=None):
    cfg = shapes_model.make_config(len(tok), image_size, bos=tok.token_id(bpe.BOS), eos=tok.token_id(bpe.EOS),
                                   pad=tok.token_id(bpe.PAD), dims={"codebook": codebook} if codebook else None)
    torch.manual_seed(seed)
    model = jt.MultiModalityCausalLM(cfg)
    init_weights(model, seed)
    return model


def parse_weights(text):
    """"star=4,cross=2" -> {"star": 4.0, "cross": 2.0} (names checked against sd.SHAPES)."""
    out = {}
    for item in filter(None, text.split(",")):
        name, _, w = item.partition("=")
        if name not in sd.SHAPES or not w:
            raise SystemExit(f"--mdec-shape-weights: bad entry {item!r} (want SHAPE=WEIGHT, shapes {sd.SHAPES})")
        out[name] = float(w)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=build_tokenizer.DEFAULT_OUT)
    ap.add_argument("--work", default=os.path.join(ROOT, "build-shapes", "train"))
    ap.add_argument("--stage", choices=["all", "vq", "vq2", "vq3", "vqdec", "vqdec2", "vqpatch", "vqcan", "merge", "mdec", "und", "und2", "joint", "more", "und3", "export"], default="all")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--image-size", type=int, default=128)
    ap.add_argument("--vq-steps", type=int, default=450)
    ap.add_argument("--vq-batch", type=int, default=12)
    ap.add_argument("--vq-lr", type=float, default=1e-3)
    ap.add_argument("--vq2-steps", type=int, default=700, help="second VQ cycle (warm restart) steps")
    ap.add_argument("--vq3-steps", type=int, default=1400, help="third VQ cycle (warm restart) steps (0 = off)")
    ap.add_argument("--vq3-lr-scale", type=float, default=0.4, help="peak lr of cycle 3 / --vq-lr")
    ap.add_argument("--vq-ae-steps", type=int, default=150, help="autoencoder warm-up steps before quantising")
    ap.add_argument("--merge-codes", type=int, default=128, help="merge the VQ codebook to this many codes (0 = off)")
    ap.add_argument("--merge-images", type=int, default=2000, help="pictures whose codes the merge clusters")
    ap.add_argument("--merge-iters", type=int, default=25)
    ap.add_argument("--mdec-steps", type=int, default=600, help="decoder adaptation to the merged codebook")
    ap.add_argument("--mdec-lr-scale", type=float, default=0.2, help="peak lr of stage mdec / --vq-lr")
    ap.add_argument("--mdec-init", default=None, help="stage mdec starts from this VQ state dict (default: WORK/vqm.pt)")
    ap.add_argument("--mdec-name", default="mdec", help="stage mdec writes WORK/NAME.pt (export reads mdec)")
    ap.add_argument("--mdec-shape-weights", default="", help="canonical pictures of stage mdec: relative weight per "
                    "shape, e.g. star=4 (thin star points decode blunt; default 1 each)")
    ap.add_argument("--mdec-canonical-frac", type=float, default=0.0, help="canonical share of each mdec batch")
    ap.add_argument("--mdec-edge", type=float, default=0.0, help="weight of edge_loss() in stage mdec")
    ap.add_argument("--pool", type=int, default=20000)
    ap.add_argument("--vqdec-steps", type=int, default=700)
    ap.add_argument("--vqdec-batch", type=int, default=8)
    ap.add_argument("--vqdec2-steps", type=int, default=600, help="second decoder-only cycle (0 = off)")
    ap.add_argument("--vqpatch-steps", type=int, default=0, help="whole-VQ cycle with per-patch encoding (0 = off)")
    ap.add_argument("--vqpatch-lr-scale", type=float, default=0.5, help="peak lr of stage vqpatch / --vq-lr")
    ap.add_argument("--vqcan-steps", type=int, default=0, help="decoder-only cycle on canonical pictures (0 = off)")
    ap.add_argument("--vqcan-canonical-frac", type=float, default=0.5, help="canonical share of each vqcan batch")
    ap.add_argument("--vqcan-edge", type=float, default=1.0, help="weight of edge_loss() in stage vqcan")
    ap.add_argument("--vq-patchwise", type=int, default=0, help="image codes from shapes_model.image_codes (1) or whole-picture encoding (0)")
    ap.add_argument("--t2i-canonical", type=int, default=0, help="text -> image targets: canonical pictures' codes (1) or the jittered pool's (0)")
    ap.add_argument("--und-steps", type=int, default=1400)
    ap.add_argument("--und2-steps", type=int, default=500, help="second understanding cycle (warm restart) steps")
    ap.add_argument("--lm-steps", type=int, default=2000, help="joint stage steps")
    ap.add_argument("--und3-steps", type=int, default=800, help="vision-side caption steps after more (0 = off)")
    ap.add_argument("--joint-pool", type=int, default=6000, help="images encoded to codes for the joint stage")
    ap.add_argument("--more-steps", type=int, default=1100, help="continuation of the joint stage (stage more; 0 = off)")
    ap.add_argument("--more-pool", type=int, default=4000, help="fresh images encoded for stage more")
    ap.add_argument("--more-init", default=None, help="stage more starts from this state dict (default: WORK/model.pt)")
    ap.add_argument("--more-name", default="model_more", help="stage more writes WORK/NAME.pt (und3 and export read model_more)")
    ap.add_argument("--gen-batch", type=int, default=32)
    ap.add_argument("--und-batch", type=int, default=16)
    ap.add_argument("--joint-und-batch", type=int, default=8, help="image -> caption rows per joint step")
    ap.add_argument("--lm-lr", type=float, default=2e-3)
    ap.add_argument("--prompt-detail", type=float, default=None, help="probability that a training prompt names size / position / background (default 0.5 / 0.6 / 0.7)")
    ap.add_argument("--prompt-defaults", type=int, default=0, help="1: training prompts always name a non-default size / position (a prompt without them means medium, centred)")
    ap.add_argument("--gen-corrupt", type=float, default=0.0, help="share of fed-back image codes replaced by random ones in text -> image rows (targets unchanged; against exposure bias)")
    ap.add_argument("--gen-label-smooth", type=float, default=0.0, help="label smoothing of the text -> image loss: "
                    "gives conditional and unconditional logits the same floor, so guidance (w > 1) amplifies no noise")
    ap.add_argument("--gen-cfg-loss", type=float, default=0.0, help="weight of a cross-entropy on the guided logits "
                    "u + w (c - u) (every text -> image row paired with its unconditional twin; 0 = off, rows then "
                    "unconditional with probability --p-uncond)")
    ap.add_argument("--gen-cfg-w", type=float, default=5.0, help="guidance weight w of --gen-cfg-loss (reference default 5)")
    ap.add_argument("--p-uncond", type=float, default=0.12)
    ap.add_argument("--aux-weight", type=float, default=1.0, help="weight of the training-only attribute head")
    ap.add_argument("--bf16", type=int, default=0, help="1: forward passes of training in bfloat16 autocast (autocast())")
    ap.add_argument("--quick", action="store_true", help="tiny smoke run (a few steps, small pool)")
    args = ap.parse_args()
    if args.quick:
        args.vq_steps, args.vqdec_steps, args.und_steps, args.lm_steps, args.pool, args.joint_pool = 3, 3, 3, 3, 300, 300
        args.vq2_steps = args.und2_steps = args.vqdec2_steps = 3
        args.vq3_steps = min(args.vq3_steps, 3)
        args.mdec_steps, args.merge_images, args.und3_steps, args.vqcan_steps = 3, 250, 3, min(args.vqcan_steps, 3)
        args.vqpatch_steps = min(args.vqpatch_steps, 3)
        args.more_steps, args.more_pool = 3, 300
    torch.set_num_threads(args.threads)
    if args.bf16:
        torch.nn.GroupNorm.forward = group_norm_f32
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.model_dir, exist_ok=True)
    t_all = time.time()
    build_tokenizer.main_with_out(args.model_dir)
    tok = bpe.Tokenizer(os.path.join(args.model_dir, "tokenizer.json"))
    model = build_model(tok, args.image_size, args.seed)
    vq_path = os.path.join(args.work, "vq.pt")
    und_path = os.path.join(args.work, "und.pt")
    vqdec_path = os.path.join(args.work, "vqdec.pt")
    times = {}
    if args.stage in ("all", "vq"):
        times["vq_s"] = round(train_vq(model, args))
        torch.save(model.gen_vision_model.state_dict(), os.path.join(args.work, "vq1.pt"))
    # Warm-restart cycles 2 and 3: vq1.pt -> vq2.pt -> vq3.pt; the last one run is copied to vq.pt.
    for name, steps, lr_scale, seed_offset, src in (("vq2", args.vq2_steps, 1.0, 11, "vq1"),
                                                    ("vq3", args.vq3_steps, args.vq3_lr_scale, 21, "vq2")):
        if args.stage in ("all", "vq", name) and steps > 0:
            model.gen_vision_model.load_state_dict(torch.load(os.path.join(args.work, f"{src}.pt")))
            times[f"{name}_s"] = round(train_vq_continue(model, args, steps, args.vq_lr * lr_scale, seed_offset, name))
            torch.save(model.gen_vision_model.state_dict(), os.path.join(args.work, f"{name}.pt"))
            torch.save(model.gen_vision_model.state_dict(), vq_path)
    if args.stage in ("all", "vqdec"):
        model.gen_vision_model.load_state_dict(torch.load(vq_path))
        times["vqdec_s"] = round(train_vq_decoder(model, args, args.vqdec_steps, args.vq_lr))
        torch.save(model.gen_vision_model.state_dict(), vqdec_path)
    vqdec2_path = os.path.join(args.work, "vqdec2.pt")
    if args.stage in ("all", "vqdec", "vqdec2") and args.vqdec2_steps > 0:
        # Second decoder-only cycle (warm restart at half the peak learning rate, fresh images).
        model.gen_vision_model.load_state_dict(torch.load(vqdec_path))
        times["vqdec2_s"] = round(train_vq_decoder(model, args, args.vqdec2_steps, args.vq_lr * 0.5, 14, "vqdec2"))
        torch.save(model.gen_vision_model.state_dict(), vqdec2_path)
    vqpatch_path = os.path.join(args.work, "vqpatch.pt")
    if args.stage in ("all", "vqpatch") and args.vqpatch_steps > 0:
        model.gen_vision_model.load_state_dict(torch.load(vqdec2_path if args.vqdec2_steps > 0 else vqdec_path))
        times["vqpatch_s"] = round(train_vq_patch(model, args, args.vqpatch_steps, args.vq_lr * args.vqpatch_lr_scale))
        torch.save(model.gen_vision_model.state_dict(), vqpatch_path)
    vqcan_path = os.path.join(args.work, "vqcan.pt")
    if args.stage in ("all", "vqcan") and args.vqcan_steps > 0 and args.merge_codes == 0:
        # Decoder-only cycle on half canonical pictures (what the LM draws) with the edge loss.
        model.gen_vision_model.load_state_dict(torch.load(
            vqpatch_path if args.vqpatch_steps > 0 else vqdec2_path if args.vqdec2_steps > 0 else vqdec_path))
        times["vqcan_s"] = round(train_vq_decoder(model, args, args.vqcan_steps, args.vq_lr * 0.5, 18, "vqcan",
                                                  args.vqcan_canonical_frac, args.vqcan_edge, args.vq_patchwise))
        torch.save(model.gen_vision_model.state_dict(), vqcan_path)
    if args.stage in ("all", "und"):
        rng = np.random.default_rng(args.seed + 4)
        und_pool = draw_batch(rng, args.pool, args.image_size) + (None,)
        times["und_s"] = round(train_lm(model, tok, und_pool, args, args.und_steps, False, 5))
        torch.save({k: v for k, v in model.state_dict().items() if not k.startswith("gen_vision_model.")},
                   os.path.join(args.work, "und1.pt"))
    if args.stage in ("all", "und", "und2"):
        # Second understanding cycle (warm restart at half the peak learning rate) on a fresh pool.
        model.load_state_dict(torch.load(os.path.join(args.work, "und1.pt")), strict=False)
        times["und2_s"] = round(caption_cycle(model, tok, args, 12, args.und2_steps, 13))
        torch.save({k: v for k, v in model.state_dict().items() if not k.startswith("gen_vision_model.")}, und_path)
    vqm_path = os.path.join(args.work, "vqm.pt")
    decoded_vq = vqdec2_path if args.vqdec2_steps > 0 else vqdec_path if args.vqdec_steps > 0 else vq_path
    if args.stage in ("all", "merge") and args.merge_codes > 0:
        model.gen_vision_model.load_state_dict(torch.load(decoded_vq))
        t = time.time()
        torch.save(merge_codebook(model.gen_vision_model, args), vqm_path)
        times["merge_s"] = round(time.time() - t)
    if args.merge_codes > 0 and args.stage in ("all", "mdec", "joint", "more", "und3", "export"):
        # From here on the model has the merged codebook: gen_head / gen_embed have K' rows (new init).
        model = build_model(tok, args.image_size, args.seed, args.merge_codes)
    mdec_path = os.path.join(args.work, "mdec.pt")
    if args.stage in ("all", "mdec") and args.merge_codes > 0 and args.mdec_steps > 0:
        # Decoder-only adaptation to the merged codebook (encoder and codes fixed), low peak lr.
        model.gen_vision_model.load_state_dict(torch.load(args.mdec_init or vqm_path))
        times["mdec_s"] = round(train_vq_decoder(model, args, args.mdec_steps, args.vq_lr * args.mdec_lr_scale, 16, "mdec",
                                                 args.mdec_canonical_frac, args.mdec_edge, False,
                                                 parse_weights(args.mdec_shape_weights)))
        torch.save(model.gen_vision_model.state_dict(), os.path.join(args.work, args.mdec_name + ".pt"))
    if args.stage in ("all", "joint"):
        # The VQ whose encoder + codebook give the codes (decoder stages after it keep them unchanged).
        model.gen_vision_model.load_state_dict(torch.load(
            vqm_path if args.merge_codes > 0 else vqpatch_path if args.vqpatch_steps > 0 else vq_path))
        und_state = torch.load(und_path)  # gen_head / gen_embed are untrained there; skip them if K' differs
        own = model.state_dict()
        model.load_state_dict({k: v for k, v in und_state.items() if k in own and own[k].shape == v.shape}, strict=False)
        model.gen_vision_model.eval()
        t = time.time()
        pool = encode_pool(model, args)
        gen_pool = encode_canonical(model, args) if args.t2i_canonical else None
        times["pool_s"] = round(time.time() - t)
        times["joint_s"] = round(train_lm(model, tok, pool, args, args.lm_steps, True, 3, gen_pool))
        torch.save(model.state_dict(), os.path.join(args.work, "model.pt"))
    if args.stage in ("all", "more") and args.more_steps > 0:
        # Continuation of the joint stage on a fresh pool (new seed), shorter schedule, lower peak lr.
        model.load_state_dict(torch.load(args.more_init or os.path.join(args.work, "model.pt")))
        model.gen_vision_model.eval()
        args.joint_pool, pool_seed = args.more_pool, args.seed
        args.seed = args.seed + 100
        pool = encode_pool(model, args)
        gen_pool = encode_canonical(model, args) if args.t2i_canonical else None
        args.lm_lr = args.lm_lr * 0.5
        times["more_s"] = round(train_lm(model, tok, pool, args, args.more_steps, True, 7, gen_pool))
        args.seed, args.lm_lr = pool_seed, args.lm_lr * 2
        torch.save(model.state_dict(), os.path.join(args.work, args.more_name + ".pt"))
    lm_final = os.path.join(args.work, "model_more.pt" if args.more_steps > 0 else "model.pt")
    und3_path = os.path.join(args.work, "model_und3.pt")
    if args.stage in ("all", "und3") and args.und3_steps > 0:
        # Vision side only: SigLIP encoder + aligner learn more image -> caption on a fresh pool with the
        # LM (and everything text -> image uses) frozen, so generation stays exactly as after `more`.
        model.load_state_dict(torch.load(lm_final))
        for n, p in model.named_parameters():
            p.requires_grad_(n.startswith(("vision_model.", "aligner.")))
        times["und3_s"] = round(caption_cycle(model, tok, args, 41, args.und3_steps, 43))
        torch.save(model.state_dict(), und3_path)
    if args.stage not in ("all", "export"):
        log(f"stage {args.stage} done: {times}")
        return
    # Export: the last LM-side weights (und3, else more, else joint) with the last decoder trained on the
    # codes they were trained on (mdec for a merged codebook, else vqdec2 / vqdec; encoder and codebook
    # unchanged by those, hence the same codes).
    model.load_state_dict(torch.load(und3_path if args.und3_steps > 0 else lm_final))
    if args.merge_codes > 0:
        model.gen_vision_model.load_state_dict(torch.load(mdec_path if args.mdec_steps > 0 else vqm_path))
    elif args.vqcan_steps > 0:
        model.gen_vision_model.load_state_dict(torch.load(vqcan_path))
    elif args.vqpatch_steps > 0:
        model.gen_vision_model.load_state_dict(torch.load(vqpatch_path))
    elif args.vqdec_steps > 0:
        model.gen_vision_model.load_state_dict(torch.load(decoded_vq))
    times["total_s"] = round(time.time() - t_all)
    meta = {"recipe": "scripts/shapes/train_all.sh (stages of scripts/shapes/train.py; below: the export call's flags, "
                      "the stages and links before it are listed in train_all.sh)", "seed": args.seed, "threads": args.threads,
            "bf16": args.bf16, "lm_lr": args.lm_lr, "gen_batch": args.gen_batch, "joint_und_batch": args.joint_und_batch,
            "vq_steps": args.vq_steps, "vq2_steps": args.vq2_steps, "vq3_steps": args.vq3_steps, "vq_batch": args.vq_batch,
            "vqdec_steps": args.vqdec_steps, "vqdec2_steps": args.vqdec2_steps, "und_steps": args.und_steps,
            "und2_steps": args.und2_steps, "joint_steps": args.lm_steps, "pool": args.pool, "joint_pool": args.joint_pool,
            "more_steps": args.more_steps, "more_pool": args.more_pool, "merge_codes": args.merge_codes,
            "merge_images": args.merge_images, "mdec_steps": args.mdec_steps, "und3_steps": args.und3_steps,
            "vqpatch_steps": args.vqpatch_steps, "vqcan_steps": args.vqcan_steps, "vq_patchwise": args.vq_patchwise,
            "t2i_canonical": args.t2i_canonical, "prompt_detail": args.prompt_detail,
            "prompt_defaults": args.prompt_defaults, "gen_corrupt": args.gen_corrupt,
            "gen_label_smooth": args.gen_label_smooth, "p_uncond": args.p_uncond,
            "gen_cfg_loss": args.gen_cfg_loss, "gen_cfg_w": args.gen_cfg_w,
            "mdec_canonical_frac": args.mdec_canonical_frac, "mdec_edge": args.mdec_edge,
            "mdec_shape_weights": args.mdec_shape_weights}
    export(model, args.model_dir, meta)
    log(f"done: {times}")


if __name__ == "__main__":
    main()
