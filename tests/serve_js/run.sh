#!/usr/bin/env bash
# ctest entry for the openai npm client test: installs package-lock.json's packages from the npm
# registry into WORKDIR (not the source tree), then runs test.mjs. Exits 77 (ctest SKIP) with a
# SKIP message when node/npm are missing or the registry cannot be reached.
# Usage: run.sh JANUS_BINARY MODEL_DIR WORKDIR
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; model="$2"; work="$3"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node/npm not installed (apt-get install nodejs npm) — the openai npm client test did not run"
  exit 77
fi
mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$here/test.mjs" "$work/"
if [[ ! -d "$work/node_modules/openai" ]] || ! cmp -s "$here/package-lock.json" "$work/.installed-lock"; then
  if ! (cd "$work" && timeout 90 npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
    echo "SKIP: npm ci failed (npm registry unreachable?) — see $work/npm.log"
    tail -5 "$work/npm.log"
    exit 77
  fi
  cp "$here/package-lock.json" "$work/.installed-lock"
fi
cd "$work" && exec node test.mjs "$bin" "$model"
