#!/usr/bin/env bash
# The benchmark (`make bench`, which builds the bundle first): sizes of the
# bundle against an empty FlexPlugin built in the same run, the wasm and where
# its bytes go, plugin start, wrap-up handling and memory in headless
# Chromium, and get_mos_score's Twilio requests. One `bench:` line per figure,
# each against its budget (ok/OVER). Exits non-zero only when a measurement
# failed, never on a budget. See bench/README.md.
#
# It builds its own bundle first, with its own Functions URL (the demo's
# twilio-run port), so it never needs a deploy URL.
#
# Env: BENCH_LOADS, BENCH_WRAPUPS, BENCH_FLOWS, BENCH_COMPARE_LOADS,
# BENCH_BREAKDOWN=0, BENCH_CRATES=0, BENCH_BROWSER=0 (see bench/bench.js).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib.sh"
ensure_npm bench "$ROOT/e2e" "$ROOT/functions" "$ROOT/js-shim"
need_chromium bench
export PATH="$HOME/.cargo/bin:$PATH"

# playwright-core comes from e2e/, twilio (backend figures) from functions/,
# flex-plugin-scripts and binaryen (floor build, breakdown) from js-shim/.
FLEX_APP_FUNCTIONS_BASE_URL=http://localhost:3100 bash "$ROOT/scripts/build-bundle.sh"
for f in js-shim/build/plugin-mos-score.js js-shim/src/generated/flex_mos_score_bg.opt.wasm; do
  [ -f "$ROOT/$f" ] || { echo "[bench] $f is missing: scripts/build-bundle.sh did not build it" >&2; exit 1; }
done

exec node "$ROOT/bench/bench.js" "$@"
