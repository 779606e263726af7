#!/usr/bin/python3
"""PyTorch side of `janus bench generate`: the official Janus-Pro text-to-image loop (facts §5.2-§5.4), eager
PyTorch on the CPU, KV cache on, random weights with the real shapes of the LM body + gen_head + gen_aligner +
gen_embed (janus_torch.py, the independent reference implementation; no VQ decode).

Per P in --parallel: 2P interleaved rows (cond, pad-uncond) of --prompt-tokens ids; step 0 = prefill of all
rows; then --steps decode steps, each: LM body on the [2P,1,H] feed with the cache, gen_head on the last hidden
state [2P,V], CFG uncond + w(cond - uncond), softmax(logits / T) + multinomial (the reference's sampling),
gen_aligner(gen_embed(code)) duplicated for both rows. Times the prefill and every step (median reported).

Debian's torch 1.13 uses the system BLAS; like scripts/shapes, this re-executes itself with OpenBLAS
(libopenblas0-pthread) when installed so f32 matmuls are not the netlib reference BLAS.

  /usr/bin/python3 scripts/reference/bench_generate_torch.py --model janus-pro-1b --parallel 1 16 \
      --steps 8 --threads 2 --dtype bf16
Prints one JSON object on the last line of stdout.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "shapes"))
import blas_env  # noqa: E402

blas_env.ensure(blas_env.threads_from_argv(1))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import janus_torch as jt  # noqa: E402

SHAPES = {  # facts §1.2, §1.6
    "janus-pro-1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=24, num_attention_heads=16),
    "janus-pro-7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=30, num_attention_heads=32),
    "tiny": dict(hidden_size=128, intermediate_size=352, num_hidden_layers=2, num_attention_heads=4),
}


def build(name, dtype):
    s = SHAPES[name]
    head_dim = 128 if name != "tiny" else 32
    cfg = jt.LMConfig(vocab_size=102400 if name != "tiny" else 512, num_key_value_heads=s["num_attention_heads"],
                      head_dim=head_dim, max_position_embeddings=16384, **s)
    torch.set_default_dtype(dtype)  # build directly in the run dtype (no f32 copy of a 7B model)
    body = jt.LlamaModel(cfg)
    H, V = cfg.hidden_size, 16384
    gen_aligner = jt.MlpProjector(8, H)
    gen_head = jt.VisionHead(H, H, V)
    gen_embed = nn.Embedding(V, 8)
    torch.set_default_dtype(torch.float32)
    with torch.no_grad():
        for m in (body, gen_aligner, gen_head, gen_embed):
            for p in m.parameters():
                if p.dim() > 1:
                    p.uniform_(-0.02, 0.02)
                else:
                    p.fill_(1.0 if p.shape[0] == H else 0.0)
    mods = [m.eval() for m in (body, gen_aligner, gen_head, gen_embed)]
    del body.embed_tokens  # replaced below by a small table: prompt ids only need their rows
    return cfg, mods


@torch.no_grad()
def run(cfg, mods, P, L, steps, cfg_w=5.0, temperature=1.0, seed=0):
    body, gen_aligner, gen_head, gen_embed = mods
    dt = next(gen_head.parameters()).dtype
    g = torch.Generator().manual_seed(seed)
    H = cfg.hidden_size
    prompt = torch.randn(1, L, H, generator=g).to(dt) * 0.02  # embedded prompt (embedding lookup is free)
    pad = torch.randn(1, 1, H, generator=g).to(dt) * 0.02
    uncond = prompt.clone()
    uncond[:, 1:L - 1] = pad
    embeds = torch.cat([prompt, uncond] * P, dim=0)  # [2P, L, H] interleaved cond / uncond
    cache = None
    times = []
    for step in range(steps + 1):
        t0 = time.perf_counter()
        h, cache = body(inputs_embeds=embeds, past_key_values=cache)
        logits = gen_head(h[:, -1, :])
        cond, unc = logits[0::2, :], logits[1::2, :]
        guided = unc + cfg_w * (cond - unc)
        probs = torch.softmax(guided / temperature, dim=-1)
        nxt = torch.multinomial(probs.float(), 1, generator=g).squeeze(-1)
        both = torch.stack([nxt, nxt], dim=1).reshape(-1)
        embeds = gen_aligner(gen_embed(both))[:, None, :]
        times.append((time.perf_counter() - t0) * 1e3)
    dec = sorted(times[1:])
    return {"parallel": P, "prefill_ms": times[0], "step_ms": dec[len(dec) // 2], "steps_ms": times[1:]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="janus-pro-1b", choices=sorted(SHAPES))
    ap.add_argument("--parallel", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--prompt-tokens", type=int, default=24)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", choices=["bf16", "f32"], default="bf16")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    # refuse instead of driving a shared machine into the OOM killer (7B in f32 is ~28 GB)
    s = SHAPES[a.model]
    H, F, NL = s["hidden_size"], s["intermediate_size"], s["num_hidden_layers"]
    need = (NL * (4 * H * H + 3 * H * F) + 2 * H * H + 16384 * H) * (2 if a.dtype == "bf16" else 4) * 1.15
    avail = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    if avail and need > 0.85 * avail:
        print(json.dumps({"error": f"needs ~{need / 2**30:.1f} GiB, {avail / 2**30:.1f} GiB available",
                          "dtype": a.dtype, "model": a.model}))
        sys.exit(2)
    t0 = time.perf_counter()
    cfg, mods = build(a.model, dtype)
    out = {"torch_version": torch.__version__, "threads": torch.get_num_threads(), "dtype": a.dtype,
           "model": a.model, "steps": a.steps, "prompt_tokens": a.prompt_tokens,
           "blas": os.environ.get("LD_LIBRARY_PATH", "system"), "build_s": time.perf_counter() - t0, "rows": []}
    for P in a.parallel:
        out["rows"].append(run(cfg, mods, P, a.prompt_tokens, a.steps))
        print(f"torch {a.dtype} P={P}: prefill {out['rows'][-1]['prefill_ms']:.0f} ms, step "
              f"{out['rows'][-1]['step_ms']:.0f} ms", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
