#!/usr/bin/python3
"""Real-dimension check data for the vision code (NOT committed: ~700 MB). Builds SigLIP-L/16@384 (with
the unused attn_pool), the aligner (1024 → 2048, Janus-Pro-1B) and VQ-16 at the official dimensions with
random bf16-representable weights (janus_torch.seeded_init_), writes them as a safetensors checkpoint in
the official names + a config.json holding only the official keys (dims come from the defaults), and
f32 PyTorch outputs of the independent reference implementation (janus_torch.py):
  pixel_values [1,3,384,384], siglip_features [1,576,1024], aligner_out [1,576,2048],
  vq_codes [576], vq_decoded [1,3,384,384], vq_encode_latent [1,8,24,24], vq_encode_codes [576],
  vq_encode_gap [576] (distance of the runner-up codebook row minus the best, per position).
Then:  JANUS_VISION_REAL_DIMS=/tmp/janus-real-dims build-vision/tests/test_vision --gtest_filter='RealDims*'
Usage: /usr/bin/python3 scripts/reference/make_vision_real_dims.py [OUT_DIR]   (several minutes of CPU;
prefix LD_PRELOAD=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 when Debian's libblas
alternative is the reference BLAS — see BENCHMARKS.md, Vision)
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import janus_torch as jt  # noqa: E402


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/janus-real-dims"
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    vit = jt.CLIPVisionTower(jt.VisionConfig())
    aligner = jt.MlpProjector(1024, 2048)
    vq = jt.VQModel(jt.VQConfig())
    sd = {}
    for prefix, mod, seed in (("vision_model.", vit, 1), ("aligner.", aligner, 2), ("gen_vision_model.", vq, 3)):
        jt.seeded_init_(mod, seed)
        with torch.no_grad():
            for p in mod.parameters():
                p.copy_(p.to(torch.bfloat16).float())
        mod.eval()
        for k, v in mod.state_dict().items():
            sd[prefix + k] = v.to(torch.bfloat16).contiguous()
    jt.save_safetensors(sd, os.path.join(out, "model.safetensors"))
    json.dump({"vision_config": {"params": {"model_name": "siglip_large_patch16_384", "image_size": 384,
                                            "select_feature": "same", "select_layer": -1}},
               "aligner_config": {"params": {"depth": 2, "input_dim": 1024, "n_embed": 2048}},
               "gen_vision_config": {"cls": "VQ-16", "params": {"image_token_size": 16384, "n_embed": 8}}},
              open(os.path.join(out, "config.json"), "w"), indent=1)
    g = torch.Generator().manual_seed(7)
    y, x = torch.meshgrid(torch.arange(384.0), torch.arange(384.0), indexing="ij")
    img = torch.stack([torch.sin(x / 40), torch.cos(y / 30), torch.sin((x + y) / 70)]) * 0.8
    img = (img + 0.1 * torch.randn(img.shape, generator=g)).clamp(-1, 1)
    px = img.unsqueeze(0).float()
    codes = torch.randint(0, 16384, (1, 576), generator=g)
    with torch.no_grad():
        f = vit(px)
        a = aligner(f)
        dec = vq.decode_code(codes)
        lat = vq.encode_continuous(px)
        _, enc_codes, dist = vq.quantize(lat)
        two = torch.topk(dist, 2, dim=1, largest=False).values
        gap = two[:, 1] - two[:, 0]  # per position: how close the runner-up codebook row is
    for name, arr in (("pixel_values", px), ("siglip_features", f), ("aligner_out", a), ("vq_codes", codes[0]),
                      ("vq_decoded", dec), ("vq_encode_latent", lat), ("vq_encode_codes", enc_codes[0]), ("vq_encode_gap", gap)):
        np.save(os.path.join(out, name + ".npy"), arr.numpy())
    print("wrote", out)


if __name__ == "__main__":
    main()
