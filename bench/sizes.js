'use strict';
/**
 * The static figures: the bundle and the wasm, each beside two floors built
 * in the same run, the minified-names lever, and where the wasm's bytes go.
 *
 * Builds (temp dirs, js-shim/node_modules linked in; js-shim itself is never
 * touched):
 *   floor      bench/floor/src (an empty FlexPlugin) with js-shim's
 *              package.json -> bench/floor/build/plugin-floor.js (kept)
 *   plumbing   bench/plumbing (the same imports: listener, fetch, timer,
 *              storage, locks, console; no product logic), through the same
 *              wasm pipeline, loader and plugin build as the shipped one
 *   names      the shipped crate's wasm-bindgen output (pkg/) through the
 *              pipeline with the other choice of names (minified or not), so
 *              each run prints the lever's effect
 *   base64     the shipped wasm inlined as plain base64 (comparison only)
 *   named      the shipped crate rebuilt with symbols kept, to name the
 *              functions of the breakdown; its function sizes must equal the
 *              shipped module's (checked and printed)
 *
 * The wasm pipeline is the one of scripts/build-bundle.sh: wasm-bindgen,
 * wasm-opt -Oz, js-shim/scripts/shrink-wasm.js when the shipped module has
 * minified names, js-shim/scripts/inline-wasm.js.
 */
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const wasmSize = require('./wasm-size');

const ROOT = path.resolve(__dirname, '..');
const SHIM = path.join(ROOT, 'js-shim');
const FLOOR_SRC = path.join(__dirname, 'floor');
const FLOOR_OUT = path.join(FLOOR_SRC, 'build', 'plugin-floor.js');
const PLUMBING = path.join(__dirname, 'plumbing');
// The bench's own build (scripts/bench.sh: scripts/build-bundle.sh with
// MOS_BUNDLE_OUT and BENCH_FUNCTIONS_URL); js-shim/build/ holds deploy builds only.
const BUNDLE_DIR = path.resolve(process.env.BENCH_BUNDLE_DIR || path.join(ROOT, 'out', 'bench-bundle'));
const BUNDLE = path.join(BUNDLE_DIR, 'plugin-mos-score.js');
const GEN = path.join(SHIM, 'src', 'generated');
const OPT_WASM = path.join(GEN, 'flex_mos_score_bg.opt.wasm');
const PKG_WASM = path.join(ROOT, 'pkg', 'flex_mos_score_bg.wasm');
const PKG_GLUE = path.join(ROOT, 'pkg', 'flex_mos_score.js');
const SHRINK = path.join(SHIM, 'scripts', 'shrink-wasm.js');
// The flags of the shipped wasm-opt step (one source: shrink-wasm.js).
const { WASM_OPT, WASM_OPT_FLAGS, inlineSnippets } = require(SHRINK);
const WASM_TARGET = 'wasm32-unknown-unknown';
// Bench builds use their own target dirs, so they never wait on or disturb other builds.
const TARGET = path.join(ROOT, 'target');
// Baked into the comparison builds too: not a real host (nothing calls it during the start figures).
const FUNCTIONS_URL = process.env.BENCH_FUNCTIONS_URL || 'https://mos-score-bench.invalid';

function gzip9(buf) {
  return execFileSync('gzip', ['-9c'], { input: buf, maxBuffer: 256 << 20 }).length;
}

function sizeOf(file) {
  const buf = fs.readFileSync(file);
  return { file, raw: buf.length, gzip: gzip9(buf) };
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${code}:\n${out.slice(-3000)}`));
    });
  });
}

/** True when the module's imports come from a minified module name (shrink-wasm.js ran). */
function hasMinifiedNames(buf) {
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(buf));
  return imports.length > 0 && imports.every((i) => !i.module.endsWith('.js'));
}

/**
 * The cargo arguments the shipped build passes after `--` to wasm-pack, read
 * from scripts/build-bundle.sh (its one source), e.g. ['--no-default-features'].
 */
function shippedCargoArgs() {
  const text = fs.readFileSync(path.join(ROOT, 'scripts', 'build-bundle.sh'), 'utf8');
  // The command line, not a message that mentions it: quoted text is ignored.
  const line = text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').replace(/"[^"]*"|'[^']*'/g, '""'))
    .find((l) => /(^|[\s(;&|])wasm-pack\s(.*\s)?build\b/.test(l));
  if (!line) throw new Error('scripts/build-bundle.sh has no `wasm-pack ... build` line to copy the cargo arguments from');
  const m = /\s--\s+([^)"';&|]*)/.exec(line);
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
}

/** `[profile.release]` of a Cargo.toml, as normalised lines. */
function releaseProfile(cargoToml) {
  const text = fs.readFileSync(cargoToml, 'utf8');
  const m = /^\[profile\.release\]\s*\n([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(text);
  return m ? m[1].split('\n').map((l) => l.replace(/#.*/, '').replace(/\s+/g, '')).filter(Boolean).sort() : [];
}

async function cargoWasm({ dir, targetDir, args = [], env = {} }) {
  await run('cargo', ['build', '--quiet', '--release', '--lib', '--target', WASM_TARGET, '--target-dir', targetDir, ...args], { cwd: dir, env: { ...process.env, ...env } });
  const name = JSON.parse(execFileSync('cargo', ['metadata', '--no-deps', '--format-version', '1'], { cwd: dir, encoding: 'utf8' })).packages[0].name.replace(/-/g, '_');
  return path.join(targetDir, WASM_TARGET, 'release', `${name}.wasm`);
}

/**
 * The shipped pipeline from a cargo (or wasm-bindgen) output: wasm-bindgen,
 * then wasm-opt -Oz, through shrink-wasm.js when `minify`; either way the
 * glue has the crate's JS snippets (src/host.js) inlined. Returns { wasm, glue }.
 * `bindgen: false` starts from wasm-bindgen's output (pkg/) instead.
 */
async function pipeline({ input, glue, outDir, minify, bindgen = true, extraBindgen = [], extraOpt = [] }) {
  fs.mkdirSync(outDir, { recursive: true });
  let bg = input;
  let js = glue;
  if (bindgen) {
    await run('wasm-bindgen', ['--target', 'web', '--omit-default-module-path', ...extraBindgen, '--out-dir', outDir, '--out-name', 'flex_mos_score', input]);
    bg = path.join(outDir, 'flex_mos_score_bg.wasm');
    js = path.join(outDir, 'flex_mos_score.js');
  }
  const wasm = path.join(outDir, 'flex_mos_score_bg.opt.wasm');
  const outGlue = path.join(outDir, 'flex_mos_score.opt.js');
  if (minify) await run(process.execPath, [SHRINK, bg, js, wasm, outGlue]);
  else {
    await run(WASM_OPT, [...WASM_OPT_FLAGS, ...extraOpt, bg, '-o', wasm]);
    // src/host.js inlined, as shrink-wasm.js does for the shipped glue.
    fs.writeFileSync(outGlue, inlineSnippets(fs.readFileSync(js, 'utf8'), path.dirname(js)));
  }
  return { wasm, glue: outGlue };
}

function tempProject(prefix, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const [from, to] of files) {
    if (typeof from === 'function') fs.writeFileSync(path.join(dir, to), from());
    else fs.cpSync(from, path.join(dir, to), { recursive: true });
  }
  fs.symlinkSync(path.join(SHIM, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

function flexBuild(dir) {
  // The URL is passed explicitly: the bench never depends on js-shim/.env or a deploy URL.
  return run('npx', ['--no-install', 'flex-plugin', 'build'], { cwd: dir, env: { ...process.env, CI: 'true', FLEX_APP_FUNCTIONS_BASE_URL: FUNCTIONS_URL } });
}

/** The empty FlexPlugin, built now; its bundle is kept in bench/floor/build/. */
async function buildFloor() {
  const floorPackage = () => {
    const p = JSON.parse(fs.readFileSync(path.join(SHIM, 'package.json'), 'utf8'));
    p.name = 'plugin-floor';
    p.description = 'Empty FlexPlugin: the size floor of this toolchain (generated by bench/sizes.js)';
    if (p.devDependencies) delete p.devDependencies.binaryen;
    return `${JSON.stringify(p, null, 2)}\n`;
  };
  const dir = tempProject('mos-bench-floor-', [
    [floorPackage, 'package.json'],
    [path.join(FLOOR_SRC, 'src'), 'src'],
  ]);
  try {
    await flexBuild(dir);
    fs.mkdirSync(path.dirname(FLOOR_OUT), { recursive: true });
    fs.copyFileSync(path.join(dir, 'build', 'plugin-floor.js'), FLOOR_OUT);
    return sizeOf(FLOOR_OUT);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * js-shim's plugin (its package.json, loader and src) around another wasm and
 * glue. Kept in the temp dir until cleanup() (the browser figures load it).
 */
async function buildPlugin(tag, { wasm, glue, encoding = 'deflate' }) {
  const dir = tempProject(`mos-bench-${tag}-`, [
    [path.join(SHIM, 'package.json'), 'package.json'],
    [path.join(SHIM, 'src'), 'src'],
  ]);
  const gen = path.join(dir, 'src', 'generated');
  fs.mkdirSync(gen, { recursive: true });
  fs.copyFileSync(glue, path.join(gen, 'flex_mos_score.js'));
  await run(process.execPath, [path.join(SHIM, 'scripts', 'inline-wasm.js'), wasm, path.join(gen, 'wasm-bytes.js'), encoding]);
  await flexBuild(dir);
  const out = path.join(os.tmpdir(), `mos-bench-plugin-mos-score.${tag}.${process.pid}.js`);
  fs.copyFileSync(path.join(dir, 'build', 'plugin-mos-score.js'), out);
  fs.rmSync(dir, { recursive: true, force: true });
  return { ...sizeOf(out), cleanup: () => fs.rmSync(out, { force: true }) };
}

function wasmFigures(file) {
  const buf = fs.readFileSync(file);
  return { file, raw: buf.length, gzip: gzip9(buf), sections: wasmSize.sections(buf), functions: wasmSize.functions(buf).length };
}

/** bench/plumbing with `features`, through the shipped pipeline. */
async function buildPlumbingWasm(features, minify) {
  const tag = features.length ? features.join('+') : 'floor';
  const input = await cargoWasm({ dir: PLUMBING, targetDir: path.join(TARGET, 'bench-plumbing'), args: features.length ? ['--features', features.join(',')] : [] });
  return pipeline({ input, outDir: path.join(TARGET, 'bench-plumbing', 'out', tag), minify });
}

/**
 * A named twin of the shipped wasm: same crate, arguments and release
 * profile, symbols kept. Its target_features section is dropped before
 * wasm-bindgen, as `strip = true` drops it from the shipped one: with it,
 * wasm-bindgen switches to externref mode and emits a different module.
 */
async function buildNamedWasm() {
  const target = path.join(TARGET, 'bench-names');
  const env = { CARGO_PROFILE_RELEASE_STRIP: 'debuginfo', CARGO_PROFILE_RELEASE_DEBUG: '0' };
  const raw = await cargoWasm({ dir: ROOT, targetDir: target, args: shippedCargoArgs(), env });
  const stripped = path.join(target, 'flex_mos_score.no-features.wasm');
  fs.writeFileSync(stripped, wasmSize.withoutCustom(fs.readFileSync(raw), ['target_features']));
  const { wasm } = await pipeline({ input: stripped, outDir: path.join(target, 'bench-bindgen'), minify: false, extraBindgen: ['--keep-debug'], extraOpt: ['-g'] });
  return wasm;
}

/** Sorted function body sizes: equal lists mean the same functions, names aside. */
function sameFunctions(a, b) {
  const sizes = (f) => wasmSize.functions(fs.readFileSync(f)).map((x) => x.size).sort((x, y) => x - y).join(',');
  return sizes(a) === sizes(b);
}

/**
 * Everything static. Each part fails on its own (`error` set) so one broken
 * build does not hide the other figures. Builds run one after another: the
 * machine is shared.
 */
async function measureSizes({ breakdown = true } = {}) {
  const result = { cleanups: [] };
  const attempt = async (key, fn) => {
    try {
      result[key] = await fn();
      if (result[key] && result[key].cleanup) result.cleanups.push(result[key].cleanup);
    } catch (e) {
      result[`${key}Error`] = e;
    }
  };
  await attempt('bundle', () => {
    // The wasm the bundle inlines must be the one measured below (pkg/ and js-shim/src/generated/
    // are shared with every other build in this tree).
    const text = fs.readFileSync(BUNDLE, 'utf8');
    const b64 = (text.match(/["'][A-Za-z0-9+/=]{1000,}["']/g) || []).map((x) => x.slice(1, -1));
    if (b64.length !== 1) throw new Error(`${BUNDLE}: found ${b64.length} inlined base64 payloads (want 1)`);
    const payload = Buffer.from(b64[0], 'base64');
    const inlined = payload.readUInt32LE(0) === 0x6d736100 ? payload : zlib.inflateSync(payload);
    if (!inlined.equals(fs.readFileSync(OPT_WASM))) throw new Error(`${BUNDLE} inlines another wasm than ${OPT_WASM}: rebuild (rm -r ${BUNDLE_DIR}; make bench)`);
    return sizeOf(BUNDLE);
  });
  await attempt('wasm', () => ({ ...wasmFigures(OPT_WASM), minified: hasMinifiedNames(fs.readFileSync(OPT_WASM)) }));
  const minified = result.wasm ? result.wasm.minified : false;
  await attempt('floor', buildFloor);
  await attempt('plumbing', async () => {
    const profile = releaseProfile(path.join(ROOT, 'Cargo.toml'));
    if (profile.join() !== releaseProfile(path.join(PLUMBING, 'Cargo.toml')).join()) {
      throw new Error('bench/plumbing/Cargo.toml [profile.release] differs from the plugin\'s: make them equal');
    }
    const built = await buildPlumbingWasm([], minified);
    return { wasm: wasmFigures(built.wasm), bundle: await buildPlugin('plumbing', built) };
  });
  await attempt('names', async () => {
    const built = await pipeline({ input: PKG_WASM, glue: PKG_GLUE, bindgen: false, outDir: path.join(TARGET, 'bench-names-lever'), minify: !minified });
    if (!sameFunctions(built.wasm, OPT_WASM)) throw new Error('pkg/ is not the build the bundle inlines (function sizes differ): run `make bench` to rebuild both');
    return { minified: !minified, wasm: wasmFigures(built.wasm), bundle: await buildPlugin('names', built) };
  });
  if (result.wasm) await attempt('base64', () => buildPlugin('base64', { wasm: OPT_WASM, glue: path.join(GEN, 'flex_mos_score.js'), encoding: 'base64' }));
  if (breakdown) {
    await attempt('named', async () => {
      const file = await buildNamedWasm();
      const buf = fs.readFileSync(file);
      const fns = wasmSize.functions(buf);
      return {
        file,
        code: (wasmSize.sections(buf).find((s) => s.name === 'code') || {}).size || 0,
        sameFunctions: sameFunctions(file, OPT_WASM),
        groups: wasmSize.groups(fns),
        top: [...fns].sort((a, b) => b.size - a.size).slice(0, 8),
      };
    });
  } else result.namedError = new Error('skipped (BENCH_BREAKDOWN=0)');
  return result;
}

module.exports = {
  measureSizes,
  gzip9,
  sizeOf,
  run,
  cargoWasm,
  pipeline,
  buildPlumbingWasm,
  wasmFigures,
  hasMinifiedNames,
  shippedCargoArgs,
  BUNDLE,
  BUNDLE_DIR,
  OPT_WASM,
  FLOOR_OUT,
  ROOT,
  TARGET,
  FUNCTIONS_URL,
};
