#!/usr/bin/env bash
# The benchmark (`make bench`, which builds the bundle first): sizes of the
# bundle against an empty FlexPlugin built in the same run, the wasm and where
# its bytes go, plugin start, wrap-up handling and memory in headless
# Chromium, and get_mos_score's Twilio requests. One `bench:` line per figure,
# each against its budget (ok/OVER). Exits non-zero only when a measurement
# failed, never on a budget. See bench/README.md.
#
# Env: BENCH_LOADS,
# BENCH_WRAPUPS, BENCH_FLOWS, BENCH_BREAKDOWN=0 (see bench/bench.js).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib.sh"
ensure_npm bench "$ROOT/e2e" "$ROOT/functions" "$ROOT/js-shim"
need_chromium bench
export PATH="$HOME/.cargo/bin:$PATH"

# playwright-core comes from e2e/, twilio (backend figures) from functions/,
# flex-plugin-scripts and binaryen (floor build, breakdown) from js-shim/.
for f in js-shim/build/plugin-mos-score.js js-shim/src/generated/flex_mos_score_bg.opt.wasm; do
  [ -f "$ROOT/$f" ] || { echo "[bench] $f is missing: run \`make bundle\` (or \`make bench\`)" >&2; exit 1; }
done

exec node "$ROOT/bench/bench.js" "$@"
