#!/usr/bin/env bash
# Installs what the build, the tests and the demo need, skipping whatever is
# already there. Safe to run again. Needs root (or sudo) only for apt.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf '[setup] %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

# Rust → wasm, and the lint tools `make test` runs (a minimal rustup profile lacks them)
for c in rustfmt clippy; do
  rustup component list --installed | grep -q "^$c" || { say "rustup component add $c"; rustup component add "$c"; }
done
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
# wasm-bindgen-cli must equal the `=` pin in Cargo.toml, or wasm-pack tries to download one.
WBG=$(sed -nE 's/^wasm-bindgen = .*"=([0-9.]+)".*/\1/p' "$ROOT/Cargo.toml")
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WBG" ]; then
  say "cargo install wasm-bindgen-cli $WBG (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$WBG" --locked
fi
# Pinned: the version whose lock file resolves against the registry here.
WASM_PACK=0.15.1
if ! command -v wasm-pack >/dev/null; then
  say "cargo install wasm-pack $WASM_PACK (a few minutes, once)"
  cargo install wasm-pack --version "$WASM_PACK" --locked
fi

# Debian Chromium + ChromeDriver for the browser tests (never a browser download)
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  say "apt-get install chromium chromium-driver"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# npm projects (npm ci only where node_modules is missing or stale)
source "$ROOT/scripts/lib.sh"
ensure_npm setup "$ROOT/functions" "$ROOT/js-shim" "$ROOT/e2e"
say "ready"
