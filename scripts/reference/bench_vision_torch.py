#!/usr/bin/python3
"""PyTorch side of `janus bench vision`: times the same modules with random weights at real dimensions
on the CPU with Debian's torch — SigLIP-L/16 encode of one 384² image (patch embed → 24 blocks → final
LayerNorm) and VQ-16 decode of one 24×24 code grid (codebook lookup → post_quant_conv → decoder).
The modules are the independent reference implementation in janus_torch.py (same architecture as the
official Janus code, facts §1.3, §1.5). f32, torch.no_grad(), `--threads` intra-op threads.
Prints one JSON object on the last line of stdout: {"siglip_ms": median, "vq_decode_ms": median, ...}.

  /usr/bin/python3 scripts/reference/bench_vision_torch.py --threads 2 --repeats 3
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import janus_torch as jt  # noqa: E402


def median_ms(fn, repeats, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2], times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--only", choices=["siglip", "vq", "both"], default="both")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    out = {"torch_version": torch.__version__, "threads": torch.get_num_threads(), "repeats": a.repeats}
    with torch.no_grad():
        if a.only in ("siglip", "both"):
            vcfg = jt.VisionConfig(with_attn_pool=False)
            vit = jt.VisionTransformer(vcfg).eval()
            px = torch.rand(1, 3, vcfg.image_size, vcfg.image_size) * 2 - 1
            out["siglip_ms"], out["siglip_all_ms"] = median_ms(lambda: vit(px), a.repeats, a.warmup)
            del vit
        if a.only in ("vq", "both"):
            qcfg = jt.VQConfig()
            vq = jt.VQModel(qcfg).eval()
            del vq.encoder  # decode only
            codes = torch.randint(0, qcfg.codebook_size, (1, qcfg.grid() ** 2))
            out["vq_decode_ms"], out["vq_decode_all_ms"] = median_ms(lambda: vq.decode_code(codes), a.repeats, a.warmup)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
