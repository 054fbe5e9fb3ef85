#!/usr/bin/env bash
# The server-mode demo (`MODE=server make demo`): no browser and no bundle.
# A fake Twilio and the real Functions under twilio-run on loopback; Event
# Streams' two signed deliveries for one wrapped-up voice call are posted to
# /mos_events (each twice). Prints a timeline and the attributes written;
# exits 0 only if exactly one MOS task was created. See docs/server-mode.md.
#
#   scripts/demo-server.sh                          # task event first
#   MOS_DEMO_ORDER=summary-first scripts/demo-server.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib.sh"
ensure_npm demo "$ROOT/functions"
cd "$ROOT"
exec node e2e/demo-server.js
