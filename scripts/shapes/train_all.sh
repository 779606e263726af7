#!/bin/bash
# Rebuilds janus-shapes exactly as shipped: the stages of train.py in the order, process split and thread
# counts of the run that produced samples/models/janus-shapes (each stage is deterministic for a given
# thread count; two stages run side by side where they are independent, one thread each). Every training
# forward pass runs in bfloat16 autocast (--bf16 1: oneDNN matrix products / convolutions, ~4x the float32
# OpenBLAS rate on an AVX-512 BF16 core; weights, optimiser state and the exported checkpoint are float32).
#   A  und: image -> caption, 1 400 + 500 steps (1 thread)  ||  VQ cycle 1 (1 thread);
#      then VQ cycle 2 (2 threads)
#   B  merge: codebook 1024 -> 128 codes (2 threads)
#   C  joint: one text -> image + caption schedule from und.pt on the merged codes (1 thread)
#      ||  the decoder alone on the merged codes, two links (1 thread)
#   D  und3 (vision side of captions), export, then evaluate.py
# Measured on the 2-core development VM: see MODEL_CARD.md, "Run time".
# Stops at the first stage that fails (its log is in WORK_DIR).
# Usage: scripts/shapes/train_all.sh [WORK_DIR] [MODEL_DIR]   (defaults: build-shapes/train, the shipped dir)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(realpath -m "${1:-$root/build-shapes/train}")"
model="$(realpath -m "${2:-$root/samples/models/janus-shapes}")"
py=/usr/bin/python3
cd "$here"
mkdir -p "$work"
run() { echo "$(date +%T) train.py $*" >&2; "$py" train.py --work "$work" --model-dir "$model" --bf16 1 "$@"; }
# Waits for each pid in turn; stops at the first failure.
wait_all() { for p in "$@"; do wait "$p"; done; }
start=$(date +%s)

# A: captions need no VQ, so they train beside it. The VQ's decoder is adapted later (C), so two short cycles
#    that fix the encoder and codebook are enough here.
# (--vqdec-steps 0 --vqdec2-steps 0: no decoder-only cycles before the merge, so it and export read vq.pt.)
vq=(--vq-steps 300 --vq-ae-steps 100 --vq2-steps 600 --vq3-steps 0 --vqdec-steps 0 --vqdec2-steps 0)
run --stage und --threads 1 > "$work/und.log" 2>&1 & a=$!
run --stage vq --threads 1 "${vq[@]}" --vq2-steps 0 > "$work/vq.log" 2>&1 & b=$!
wait_all "$a" "$b"
run --stage vq2 --threads 2 "${vq[@]}" > "$work/vq2.log" 2>&1

# B: merge the codes of vq.pt.
run --stage merge --threads 2 "${vq[@]}" > "$work/merge.log" 2>&1

# C: text -> image with canonical targets, prompt defaults and the guided-logits loss from the start.
lm=(--t2i-canonical 1 --prompt-defaults 1 --gen-batch 16 --joint-und-batch 4 --gen-cfg-loss 3 --lm-steps 11000)
run --stage joint --threads 1 "${lm[@]}" > "$work/joint.log" 2>&1 & a=$!
# The decoder (encoder and merged codebook frozen, so the codes stay): canonical pictures and the edge
# loss, stars (thin points) weighted 2x, then 5x.
can=(--mdec-canonical-frac 0.9 --mdec-edge 1)
dec=(--mdec-steps 1800 --mdec-lr-scale 0.3 "${can[@]}" --mdec-shape-weights star=5)   # the exported link
(run --stage mdec --threads 1 --mdec-steps 1200 --mdec-lr-scale 0.5 "${can[@]}" --mdec-shape-weights star=2 \
     --mdec-name mdec1 > "$work/mdec1.log" 2>&1 &&
 run --stage mdec --threads 1 --mdec-init "$work/mdec1.pt" "${dec[@]}" > "$work/mdec.log" 2>&1) & b=$!
wait_all "$a" "$b"

# D: captions' vision side (LM frozen), export (reads model.pt: --more-steps 0), evaluate.
run --stage und3 --threads 1 --more-steps 0 > "$work/und3.log" 2>&1
run --stage export --threads 1 --more-steps 0 "${lm[@]}" "${vq[@]}" "${dec[@]}" > "$work/export.log" 2>&1
echo "training: $(( ($(date +%s) - start) / 60 )) min" >&2
"$py" evaluate.py --model-dir "$model" --threads 2 --json "$work/eval.json" | tail -n 1
echo "with evaluation: $(( ($(date +%s) - start) / 60 )) min" >&2
