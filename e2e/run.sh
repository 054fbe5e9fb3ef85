#!/usr/bin/env bash
# End-to-end test: builds the plugin bundle (scripts/build-bundle.sh), then runs
# e2e/test/*.test.js with node's test runner (headless Debian Chromium,
# twilio-run and a fake Twilio, all on loopback).
#
# Needs /usr/bin/chromium (scripts/setup.sh installs it). Never downloads a browser.
# Env: MOS_SKIP_BUILD=1 to test the bundle already in js-shim/build/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib.sh"
ensure_npm e2e "$ROOT/functions" "$ROOT/e2e"
need_chromium e2e


if [ "${MOS_SKIP_BUILD:-}" != 1 ]; then
  "$ROOT/scripts/build-bundle.sh"
fi

cd "$ROOT/e2e"
exec node --test --test-concurrency=1 --test-reporter=spec test/
