#!/bin/bash
# Rebuilds janus-shapes exactly as shipped: the stages of train.py in the order, process split and thread
# counts of the run that produced samples/models/janus-shapes (each stage is deterministic for a given
# thread count; two stages run side by side where they are independent, one thread each).
#   VQ (128 px -> 8 x 8 codes): cycles 1+2 (2 threads), cycle 3 (2 threads)
#   und (1 thread) || vqdec (1 thread); then vqdec2 (1 thread)
#   merge: codebook 1024 -> 128 codes (2 threads)
#   joint, more, und3 (1 thread each, in turn) || mdec (1 thread); then export, then evaluate.py
# Measured on an otherwise idle 2-core machine: about 2 h 20 min wall (MODEL_CARD.md, "recipe").
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
run() { echo "== train.py $*" >&2; "$py" train.py --work "$work" --model-dir "$model" "$@"; }
run --stage vq --threads 2 --vq3-steps 0 > "$work/vq.log" 2>&1
run --stage vq3 --threads 2 > "$work/vq3.log" 2>&1
run --stage und --threads 1 > "$work/und.log" 2>&1 & a=$!
run --stage vqdec --threads 1 --vqdec2-steps 0 > "$work/vqdec.log" 2>&1 & b=$!
wait "$a"
wait "$b"
run --stage vqdec2 --threads 1 > "$work/vqdec2.log" 2>&1
run --stage merge --threads 2 > "$work/merge.log" 2>&1
( run --stage joint --threads 1 > "$work/joint.log" 2>&1 && run --stage more --threads 1 > "$work/more.log" 2>&1 &&
  run --stage und3 --threads 1 > "$work/und3.log" 2>&1 ) & a=$!
run --stage mdec --threads 1 > "$work/mdec.log" 2>&1 & b=$!
wait "$a"
wait "$b"
run --stage export --threads 1 > "$work/export.log" 2>&1
"$py" evaluate.py --model-dir "$model" --threads 2 --json "$work/eval.json" | tail -n 1
