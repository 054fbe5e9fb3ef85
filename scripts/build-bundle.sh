#!/usr/bin/env bash
# Builds the one deployable Flex plugin file, js-shim/build/plugin-mos-score.js,
# with the Rust core's wasm inlined:
#   wasm-pack (release) -> wasm-opt -Oz (npm binaryen) -> glue + inlined bytes
#   into js-shim/src/generated/ -> `flex-plugin build` (webpack 4).
#
# Env:
#   FLEX_APP_FUNCTIONS_BASE_URL  baked-in Functions URL when js-shim/.env does
#                                not set it (default http://localhost:3100, the
#                                demo's twilio-run port). .env wins, as in Flex.
#   MOS_PKG_DIR                  use an existing wasm-pack output dir instead of
#                                running wasm-pack (default: build ./pkg).
#   MOS_SKIP_NPM=1               do not check js-shim/node_modules.
#   MOS_WASM_ENCODING            deflate (default) or base64: how the wasm is
#                                inlined (see js-shim/scripts/inline-wasm.js).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib.sh"
[ "${MOS_SKIP_NPM:-}" = 1 ] || ensure_npm build-bundle "$ROOT/js-shim"
SHIM="$ROOT/js-shim"
GEN="$SHIM/src/generated"
say() { printf '[build-bundle] %s\n' "$*"; }


# 1. wasm-pack (its own wasm-opt is disabled in Cargo.toml: it would download binaryen)
if [ -n "${MOS_PKG_DIR:-}" ]; then
  PKG=$MOS_PKG_DIR
  say "using prebuilt wasm-pack output in $PKG"
else
  PKG="$ROOT/pkg"
  # --no-default-features: the shipped wasm is no_std (see Cargo.toml [features]).
  say "wasm-pack build --release (no_std)"
  (cd "$ROOT" && wasm-pack --quiet build --release --target web --out-dir pkg --out-name flex_mos_score -- --no-default-features)
fi
for f in flex_mos_score.js flex_mos_score_bg.wasm; do
  [ -f "$PKG/$f" ] || { echo "missing $PKG/$f" >&2; exit 1; }
done
if grep -q 'import\.meta' "$PKG/flex_mos_score.js"; then
  echo "$PKG/flex_mos_score.js uses import.meta, which webpack 4 cannot parse (omit-default-module-path?)" >&2
  exit 1
fi

# 2. wasm-opt from the npm binaryen (v132; Debian's is too old for these features)
mkdir -p "$GEN"
WASM_OPT="$SHIM/node_modules/binaryen/bin/wasm-opt"
OPT="$GEN/flex_mos_score_bg.opt.wasm"
"$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-reference-types --enable-multivalue \
  "$PKG/flex_mos_score_bg.wasm" -o "$OPT"

# 3. glue + inlined bytes (src/generated is git-ignored; babel transpiles it)
cp "$PKG/flex_mos_score.js" "$GEN/flex_mos_score.js"
node "$SHIM/scripts/inline-wasm.js" "$OPT" "$GEN/wasm-bytes.js" "${MOS_WASM_ENCODING:-deflate}"

# 4. the Flex plugin build
export FLEX_APP_FUNCTIONS_BASE_URL="${FLEX_APP_FUNCTIONS_BASE_URL:-http://localhost:3100}"
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

size() { printf '%s bytes raw, %s bytes gzip -9' "$(wc -c < "$1")" "$(gzip -9c "$1" | wc -c)"; }
say "wasm (after wasm-opt): $(size "$OPT")"
say "bundle ${BUNDLE#$ROOT/}: $(size "$BUNDLE")"
