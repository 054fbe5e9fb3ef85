#!/usr/bin/env bash
# The demo: builds the plugin bundle, starts a fake Twilio, the Functions under
# the real twilio-run and a simulated Flex host page (all on loopback, free
# ports), wraps up one agent voice call in headless Chromium, prints a report
# and saves out/demo.png. Exits 0 only if the MOS reached TaskRouter.
#
#   scripts/demo.sh              # short delay (3 s)
#   DELAY=100 scripts/demo.sh    # the product's real 100 s wait
#
# `make demo` runs scripts/setup.sh first (Rust toolchain, wasm-pack, chromium).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

child=
cleanup() {
  # demo.js tears its servers down itself; this covers Ctrl-C and errors.
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_npm() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "[demo] npm ci in ${dir#$ROOT/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
ensure_npm "$ROOT/functions"
ensure_npm "$ROOT/e2e"
[ -x /usr/bin/chromium ] || { echo "[demo] /usr/bin/chromium is missing: run scripts/setup.sh (or apt-get install chromium)" >&2; exit 1; }

if [ "${MOS_SKIP_BUILD:-}" != 1 ]; then
  "$ROOT/scripts/build-bundle.sh"
fi
echo

cd "$ROOT"
node e2e/demo.js &
child=$!
wait "$child"
