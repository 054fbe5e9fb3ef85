'use strict';
/**
 * The design card's crates at the boundary, against the hand-rolled parts
 * they would replace (issue 12): each pair is bench/plumbing built twice
 * through the shipped pipeline, once per feature, and the figure is the
 * difference in wasm bytes (raw and gzip-9; the wasm is inlined deflated, so
 * its gzip-9 difference is about the bundle's). Plus the plugin crate itself
 * with and without std when it still has a `std` feature.
 *
 * The rule it serves: use a crate where it costs 1 KiB gzip or less, or where
 * it removes unsafe code.
 */
const fs = require('fs');
const path = require('path');
const { cargoWasm, pipeline, buildPlumbingWasm, wasmFigures, ROOT, TARGET } = require('./sizes');

const PAIRS = [
  { what: 'timer', crate: 'gloo-timers Timeout', hand: 'hand-rolled setTimeout RAII handle', base: [], with: ['timer-gloo'] },
  { what: 'config + MOS summary', crate: 'serde + serde-wasm-bindgen, derived types', hand: 'hand-written Reflect reads', base: ['config-hand'], with: ['config-serde'] },
  { what: 'stored job', crate: 'serde + serde_json, derived types', hand: 'hand-rolled JS object + JSON.stringify/parse', base: ['job-hand'], with: ['job-serde'] },
  { what: 'all three', crate: 'the three crates', hand: 'the three hand-rolled parts', base: ['config-hand', 'job-hand'], with: ['timer-gloo', 'config-serde', 'job-serde'] },
  { what: 'async flow', crate: 'wasm-bindgen-futures (async/await)', hand: 'callbacks', base: [], with: ['futures'] },
];

/** The plugin crate (as it is in this tree) with and without default features. */
async function stdPair(minify) {
  const toml = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8');
  if (!/^\s*std\s*=/m.test(toml.split(/^\[features\]/m)[1] || '')) return null;
  const out = {};
  for (const [tag, args] of [['std', []], ['no_std', ['--no-default-features']]]) {
    const input = await cargoWasm({ dir: ROOT, targetDir: path.join(TARGET, 'bench-std'), args });
    const built = await pipeline({ input, outDir: path.join(TARGET, 'bench-std', 'out', tag), minify });
    out[tag] = wasmFigures(built.wasm);
  }
  return out;
}

async function measureCrates({ minify }) {
  const cache = new Map();
  const figures = async (features) => {
    const key = [...features].sort().join('+');
    if (!cache.has(key)) cache.set(key, wasmFigures((await buildPlumbingWasm([...features].sort(), minify)).wasm));
    return cache.get(key);
  };
  const rows = [];
  for (const p of PAIRS) {
    try {
      const floor = await figures([]);
      const base = await figures(p.base);
      const withCrate = await figures(p.with);
      rows.push({ ...p, floor, base: base, withCrate });
    } catch (e) {
      rows.push({ ...p, error: e });
    }
  }
  let std = null;
  let stdError = null;
  try {
    std = await stdPair(minify);
  } catch (e) {
    stdError = e;
  }
  return { rows, std, stdError };
}

module.exports = { measureCrates };
