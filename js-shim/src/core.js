// Loads the wasm core exactly once, synchronously, from the bytes inlined in
// the bundle (Flex deploys a single JS file, so there is no .wasm to fetch).
import { initSync, start } from './generated/flex_mos_score';
import wasmBytes from './generated/wasm-bytes';

let core = null;

export function loadCore() {
  if (!core) {
    initSync({ module: wasmBytes() });
    core = { start };
  }
  return core;
}
