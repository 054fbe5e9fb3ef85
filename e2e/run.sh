#!/usr/bin/env bash
# End-to-end test: builds the plugin bundle (scripts/build-bundle.sh), then runs
# e2e/test/*.test.js with node's test runner (headless Debian Chromium,
# twilio-run and a fake Twilio, all on loopback).
#
# Needs /usr/bin/chromium (scripts/setup.sh installs it). Never downloads a browser.
# Env: MOS_SKIP_BUILD=1 to test the bundle already in js-shim/build/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

ensure_npm() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "[e2e] npm ci in ${dir#$ROOT/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
ensure_npm "$ROOT/functions"
ensure_npm "$ROOT/e2e"
[ -x /usr/bin/chromium ] || { echo "[e2e] /usr/bin/chromium is missing (apt-get install chromium)" >&2; exit 1; }

if [ "${MOS_SKIP_BUILD:-}" != 1 ]; then
  "$ROOT/scripts/build-bundle.sh"
fi

cd "$ROOT/e2e"
exec node --test --test-concurrency=1 --test-reporter=spec test/
