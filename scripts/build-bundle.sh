#!/usr/bin/env bash
# Builds the one deployable Flex plugin file, js-shim/build/plugin-mos-score.js,
# with the Rust core's wasm inlined:
#   wasm-pack (release) -> wasm-opt -Oz + minified names (npm binaryen) -> glue + inlined bytes
#   into js-shim/src/generated/ -> `flex-plugin build` (webpack 4).
#
# Env:
#   FLEX_APP_FUNCTIONS_BASE_URL  the deployed Functions' URL, baked into the
#                                bundle. Required: set it in the environment or
#                                in js-shim/.env (.env wins, as in Flex). There
#                                is no default: a deploy build must never call
#                                a developer's localhost.
#   MOS_BUNDLE_OUT               a directory: move the bundle (and its
#                                build-info.json) there instead of leaving it in
#                                js-shim/build/, so a test or demo build (with
#                                its own URL) can never be deployed by mistake.
#                                The e2e suite and the demo use this.
#   MOS_WASM_ENCODING            deflate (default) or base64: how the wasm is
#                                inlined (see js-shim/scripts/inline-wasm.js).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib.sh"
ensure_npm build-bundle "$ROOT/js-shim"
SHIM="$ROOT/js-shim"
GEN="$SHIM/src/generated"
say() { printf '[build-bundle] %s\n' "$*"; }

# 0. the Functions URL (before anything is built)
ENV_URL=$(cd "$SHIM" && node -e '
  const fs = require("fs");
  if (fs.existsSync(".env")) process.stdout.write(require("dotenv").parse(fs.readFileSync(".env")).FLEX_APP_FUNCTIONS_BASE_URL || "");
')
if [ -z "$ENV_URL" ] && [ -z "${FLEX_APP_FUNCTIONS_BASE_URL:-}" ]; then
  cat >&2 <<'MSG'
[build-bundle] FLEX_APP_FUNCTIONS_BASE_URL is not set.
  A deploy build bakes the URL of your deployed Functions into the plugin:
    FLEX_APP_FUNCTIONS_BASE_URL=https://<your-service>.twil.io make bundle
  (or put FLEX_APP_FUNCTIONS_BASE_URL=... in js-shim/.env). The demo and the
  tests build their own bundle with their own URL (`make demo`, `make test-e2e`).
MSG
  exit 2
fi


# 1. wasm-pack (its own wasm-opt is disabled in Cargo.toml: it would download binaryen)
PKG="$ROOT/pkg"
say "wasm-pack build --release"
(cd "$ROOT" && wasm-pack --quiet build --release --target web --out-dir pkg --out-name flex_mos_score)
for f in flex_mos_score.js flex_mos_score_bg.wasm; do
  [ -f "$PKG/$f" ] || { echo "missing $PKG/$f" >&2; exit 1; }
done
if grep -q 'import\.meta' "$PKG/flex_mos_score.js"; then
  echo "$PKG/flex_mos_score.js uses import.meta, which webpack 4 cannot parse (omit-default-module-path?)" >&2
  exit 1
fi

# 2. wasm-opt -Oz (npm binaryen v132; Debian's is too old) with the wasm's
#    import/export/module names minified and the glue rewritten to match; it
#    writes nothing unless the mapping applies exactly and the old and new
#    glue+wasm answer the same (js-shim/scripts/shrink-wasm.js, bench/README.md).
# 3. glue + inlined bytes (src/generated is git-ignored; babel transpiles it)
mkdir -p "$GEN"
OPT="$GEN/flex_mos_score_bg.opt.wasm"
node "$SHIM/scripts/shrink-wasm.js" "$PKG/flex_mos_score_bg.wasm" "$PKG/flex_mos_score.js" "$OPT" "$GEN/flex_mos_score.js"
node "$SHIM/scripts/inline-wasm.js" "$OPT" "$GEN/wasm-bytes.js" "${MOS_WASM_ENCODING:-deflate}"

# 4. the Flex plugin build
say "flex-plugin build"
(cd "$SHIM" && CI=true npx --no-install flex-plugin build > "$SHIM/build.log" 2>&1) || {
  cat "$SHIM/build.log" >&2; exit 1; }
BUNDLE="$SHIM/build/plugin-mos-score.js"
# What was baked in (.env wins over the environment, as flex-plugin-webpack does),
# for the e2e test of the env fallback. Not part of build/ (deploy ships one file).
(cd "$SHIM" && node -e '
  const fs = require("fs");
  const file = fs.existsSync(".env") ? require("dotenv").parse(fs.readFileSync(".env")) : {};
  const url = file.FLEX_APP_FUNCTIONS_BASE_URL || process.env.FLEX_APP_FUNCTIONS_BASE_URL;
  fs.writeFileSync("src/generated/build-info.json", JSON.stringify({ functionsBaseUrl: url, wasmEncoding: process.argv[1] }, null, 2) + "\n");
  console.log("[build-bundle] FLEX_APP_FUNCTIONS_BASE_URL baked in: " + url + (file.FLEX_APP_FUNCTIONS_BASE_URL ? " (from js-shim/.env)" : ""));
' "${MOS_WASM_ENCODING:-deflate}")
[ -f "$BUNDLE" ] || { cat "$SHIM/build.log" >&2; echo "no $BUNDLE" >&2; exit 1; }
grep -q 'import\.meta' "$BUNDLE" && { echo "bundle contains import.meta" >&2; exit 1; }

if [ -n "${MOS_BUNDLE_OUT:-}" ]; then
  mkdir -p "$MOS_BUNDLE_OUT"
  mv "$BUNDLE" "$MOS_BUNDLE_OUT/plugin-mos-score.js"
  cp "$GEN/build-info.json" "$MOS_BUNDLE_OUT/build-info.json"
  rm -f "$BUNDLE.map"
  BUNDLE="$MOS_BUNDLE_OUT/plugin-mos-score.js"
fi

size() { printf '%s bytes raw, %s bytes gzip -9' "$(wc -c < "$1")" "$(gzip -9c "$1" | wc -c)"; }
say "wasm (after wasm-opt): $(size "$OPT")"
say "bundle ${BUNDLE#$ROOT/}: $(size "$BUNDLE")"
