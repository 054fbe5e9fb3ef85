#!/usr/bin/env bash
# The benchmark (`make bench`): sizes of the bundle against an empty
# FlexPlugin built in the same run, the wasm and where its bytes go, plugin
# start, wrap-up handling and memory in headless Chromium (wrap-up and memory
# inside the real Flex UI), get_mos_score's Twilio requests, the Functions
# under bursts, and the server-side mode when it exists. One `bench:` line per
# figure, each against its budget (ok/OVER). Exits non-zero only when a
# measurement failed, never on a budget. See bench/README.md.
#
# It builds its own bundle first (e2e/support/bundle.js: scripts/build-bundle.sh
# with MOS_BUNDLE_OUT=out/bench-bundle and a Functions URL on an .invalid host
# that the bench answers in-page), so js-shim/build/ only ever holds deploy
# builds and no deploy URL is needed. Skipped when its sources are unchanged.
#
# Env: BENCH_LOADS, BENCH_WRAPUPS, BENCH_FLOWS, BENCH_COMPARE_LOADS,
# BENCH_BREAKDOWN=0, BENCH_CRATES=0, BENCH_BROWSER=0, BENCH_BURST=0
# (see bench/bench.js); BURST_* (bench/functions-burst.js).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib.sh"
ensure_npm bench "$ROOT/e2e" "$ROOT/functions" "$ROOT/js-shim"
need_chromium bench
export PATH="$HOME/.cargo/bin:$PATH"

# playwright-core and esbuild (the real Flex page) come from e2e/, twilio
# (backend and burst figures) from functions/, flex-plugin-scripts and
# binaryen (floor build, breakdown) from js-shim/.
export BENCH_BUNDLE_DIR="$ROOT/out/bench-bundle"
export BENCH_FUNCTIONS_URL="${BENCH_FUNCTIONS_URL:-https://mos-score-bench.invalid}"
node -e '
  const { ensurePluginBundle } = require(process.argv[1]);
  const { bundlePath, functionsBaseUrl } = ensurePluginBundle({ outDir: process.env.BENCH_BUNDLE_DIR, url: process.env.BENCH_FUNCTIONS_URL });
  console.log(`[bench] bundle ${bundlePath} (Functions URL baked in: ${functionsBaseUrl})`);
' "$ROOT/e2e/support/bundle.js"
for f in out/bench-bundle/plugin-mos-score.js js-shim/src/generated/flex_mos_score_bg.opt.wasm; do
  [ -f "$ROOT/$f" ] || { echo "[bench] $f is missing: scripts/build-bundle.sh did not build it" >&2; exit 1; }
done

exec node "$ROOT/bench/bench.js" "$@"
