# The two commands of the README: `make demo` and `make test`.
# `make bench` is the benchmark (not part of the tests).
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
export CHROMEDRIVER ?= /usr/bin/chromedriver

.PHONY: setup bundle demo test test-rust test-wasm test-functions test-e2e lint bench

setup:
	@bash scripts/setup.sh

bundle: setup
	@bash scripts/build-bundle.sh

# MODE=server: server mode (Event Streams → mos_events), no browser.
demo: setup
	@if [ "$(MODE)" = server ]; then bash scripts/demo-server.sh; else bash scripts/demo.sh; fi

test: setup
	@bash scripts/test.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --all-targets -- -D warnings

test-rust:
	cargo test

test-wasm:
	# One browser page runs every test; the 15 s request-abort test needs more than the 20 s default.
	WASM_BINDGEN_TEST_TIMEOUT=180 wasm-pack test --headless --chrome

test-functions:
	cd functions && npm test
	node --test js-shim/scripts/

test-e2e: setup
	cd e2e && npm test

bench: setup
	@bash scripts/bench.sh
