#!/usr/bin/env bash
# Tokenizer encoding speed, janus vs the @lenml/tokenizers reference under node, same machine, same
# input, one run. Usage: scripts/reference/tokenizers/bench.sh [BUILD_DIR=build] [MEGABYTES=4]
# Needs node + `npm ci` in this folder (done on first use).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
build="${1:-$root/build}"
mb="${2:-4}"
cd "$here"
[[ -d node_modules/@lenml/tokenizers ]] || npm ci --silent
input="$(mktemp /tmp/janus-tok-bench.XXXXXX.txt)"
trap 'rm -f "$input"' EXIT
node make_bench_text.mjs "$input" "$mb"
for name in janus_style qwen3 llama2; do
  "$build/bin/janus" tokenize --tokenizer "$root/tests/data/tokenizers/$name" -f "$input" --bench 3
  node bench.mjs "$name" "$input" 3
done
