// Loads the wasm core exactly once, behind one cached promise, from the bytes
// inlined in the bundle (Flex deploys a single JS file: no .wasm to fetch).
// WebAssembly.instantiate (through wasm-bindgen's init) compiles off the main
// thread, unlike initSync.
import init, { start } from './generated/flex_mos_score';
import wasmBytes from './generated/wasm-bytes';

let core = null;

/** Promise of the core's API ({ start }), initialised on first call only. */
export function loadCore() {
  if (!core) {
    core = wasmBytes()
      .then((bytes) => init({ module_or_path: bytes }))
      .then(() => ({ start }));
  }
  return core;
}
