// Loads the wasm core exactly once, behind one cached promise, from the bytes
// inlined in the bundle (Flex deploys a single JS file: no .wasm to fetch).
import { initSync, start } from './generated/flex_mos_score';
import wasmBytes from './generated/wasm-bytes';

let core = null;

/** Promise of the core's API ({ start }), initialised on first call only. */
export function loadCore() {
  if (!core) {
    core = wasmBytes().then((module) => {
      initSync({ module });
      return { start };
    });
  }
  return core;
}
