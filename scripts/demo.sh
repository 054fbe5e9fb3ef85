#!/usr/bin/env bash
# The demo: builds its own plugin bundle (out/demo-bundle/, its own Functions
# URL; never js-shim/build/), starts a fake Twilio, the Functions under the
# real twilio-run and the real Flex UI page (@twilio/flex-ui 2.17.1, all on
# loopback), wraps up one agent voice call in headless Chromium, prints a
# report and saves out/demo.png. Exits 0 only if the MOS reached TaskRouter.
#
#   scripts/demo.sh              # short delay (3 s)
#   DELAY=100 scripts/demo.sh    # the product's real 100 s wait
#
# `make demo` runs scripts/setup.sh first (Rust toolchain, wasm-pack, chromium).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib.sh"
ensure_npm demo "$ROOT/functions" "$ROOT/e2e"
need_chromium demo

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


cd "$ROOT"
node e2e/demo.js &
child=$!
wait "$child"
