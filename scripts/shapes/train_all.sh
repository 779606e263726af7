#!/bin/bash
# Rebuilds janus-shapes exactly as shipped: the stages of train.py in the order, process split and thread
# counts of the run that produced samples/models/janus-shapes (each stage is deterministic for a given
# thread count; two stages run side by side where they are independent, one thread each).
#   VQ (128 px -> 8 x 8 codes): cycles 1+2 (2 threads), cycle 3 (2 threads)
#   und (1 thread) || vqdec (1 thread); then vqdec2 (1 thread)
#   merge: codebook 1024 -> 128 codes (2 threads)
#   joint, six text -> image `more` links, und3 (1 thread each, in turn) || four mdec links (1 thread);
#   then export, then evaluate.py
# Measured on the 2-core development VM: about 4 h 10 min wall (MODEL_CARD.md, "Run time"); the links
# were run one by one as found (each link's first logged step was re-checked against this script).
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
# Text -> image from here on: canonical targets, prompt defaults (train.py header); every link a `more`
# stage (fresh Adam, cosine schedule, same 4 000-image pool) from the previous link's weights.
t2i=(--t2i-canonical 1 --prompt-defaults 1)
cfg=(--joint-und-batch 4 --gen-batch 16 --gen-cfg-loss)
lm_chain() {
  run --stage joint --threads 1 > "$work/joint.log" 2>&1
  run --stage more "${t2i[@]}" --more-steps 1100 --more-name t2i1 > "$work/t2i1.log" 2>&1
  run --stage more "${t2i[@]}" --more-init "$work/t2i1.pt" --more-steps 4000 --joint-und-batch 4 --more-name t2i2 > "$work/t2i2.log" 2>&1
  run --stage more "${t2i[@]}" --more-init "$work/t2i2.pt" --more-steps 1500 "${cfg[@]}" 1 --more-name t2i3 > "$work/t2i3.log" 2>&1
  run --stage more "${t2i[@]}" --more-init "$work/t2i3.pt" --more-steps 2500 "${cfg[@]}" 2 --more-name t2i4 > "$work/t2i4.log" 2>&1
  run --stage more "${t2i[@]}" --more-init "$work/t2i4.pt" --more-steps 3000 "${cfg[@]}" 2 --more-name t2i5 > "$work/t2i5.log" 2>&1
  run --stage more "${t2i[@]}" --more-init "$work/t2i5.pt" --more-steps 4000 "${cfg[@]}" 3 > "$work/more.log" 2>&1
  run --stage und3 --threads 1 > "$work/und3.log" 2>&1
}
# The decoder (encoder and merged codebook frozen, so the codes stay): mdec as before, then links on 90 %
# canonical pictures with the edge loss, the last with stars (thin points) weighted 4x.
can=(--mdec-canonical-frac 0.9 --mdec-edge 1)
dec_chain() {
  run --stage mdec --threads 1 --mdec-name mdec1 > "$work/mdec1.log" 2>&1
  run --stage mdec --mdec-init "$work/mdec1.pt" --mdec-steps 600 --mdec-lr-scale 0.5 "${can[@]}" --mdec-name mdec2 > "$work/mdec2.log" 2>&1
  run --stage mdec --mdec-init "$work/mdec2.pt" --mdec-steps 1200 --mdec-lr-scale 0.3 "${can[@]}" --mdec-name mdec3 > "$work/mdec3.log" 2>&1
  run --stage mdec --mdec-init "$work/mdec3.pt" --mdec-steps 800 --mdec-lr-scale 0.3 "${can[@]}" --mdec-shape-weights star=4 > "$work/mdec.log" 2>&1
}
lm_chain & a=$!
dec_chain & b=$!
wait "$a"
wait "$b"
run --stage export "${t2i[@]}" --gen-cfg-loss 3 --threads 1 > "$work/export.log" 2>&1
"$py" evaluate.py --model-dir "$model" --threads 2 --json "$work/eval.json" | tail -n 1
