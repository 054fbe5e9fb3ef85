#!/usr/bin/env bash
# `make test`: lint, then every suite, each run even when an earlier one
# failed, then one line of what was counted. Exits non-zero if anything failed.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
passed=0 failed=0 summary=""

# suite NAME COMMAND...: runs it, shows its output, counts its tests.
suite() {
  local name=$1 log="$LOGS/$1.log" start=$SECONDS
  shift
  echo "[test] ── $name: $*"
  if "$@" 2>&1 | tee "$log"; then
    passed=$((passed + 1)) status=ok
  else
    failed=$((failed + 1)) status=FAILED
  fi
  # cargo/wasm-bindgen-test: "test result: ok. N passed; M failed"; node --test: "# pass N" / "ℹ pass N".
  local n
  n=$(grep -hoE 'test result: [a-zA-Z]+\. [0-9]+ passed|^(# |ℹ )pass [0-9]+' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  local f
  f=$(grep -hoE '[0-9]+ failed|^(# |ℹ )fail [0-9]+' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  summary+="  $name: $status, $n tests passed, $f failed, $((SECONDS - start)) s"$'\n'
}

suite lint make --no-print-directory lint
suite rust cargo test
suite wasm make --no-print-directory test-wasm
suite functions make --no-print-directory test-functions
suite e2e make --no-print-directory test-e2e

echo
printf '%s' "$summary"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
