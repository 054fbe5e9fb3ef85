'use strict';
/**
 * Figures 1 and 2: the bundle against the floor (an empty FlexPlugin built by
 * the same flex-plugin-scripts in the same run), and the wasm after wasm-opt
 * with a where-do-the-bytes-go breakdown.
 *
 * Builds (in temp dirs, js-shim/node_modules linked in; nothing of js-shim is
 * touched):
 *   floor    bench/floor/ -> bench/floor/build/plugin-floor.js (kept: a real file)
 *   base64   js-shim/src with the wasm inlined as plain base64 instead of
 *            deflate (comparison only, deleted afterwards)
 *   names    the same crate and release profile with symbols kept
 *            (target/bench-names), through wasm-bindgen and wasm-opt -Oz -g,
 *            only to name the functions of the breakdown
 */
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const wasmSize = require('./wasm-size');

const ROOT = path.resolve(__dirname, '..');
const SHIM = path.join(ROOT, 'js-shim');
const FLOOR_SRC = path.join(__dirname, 'floor');
const FLOOR_OUT = path.join(FLOOR_SRC, 'build', 'plugin-floor.js');
const BUNDLE = path.join(SHIM, 'build', 'plugin-mos-score.js');
const OPT_WASM = path.join(SHIM, 'src', 'generated', 'flex_mos_score_bg.opt.wasm');
const WASM_OPT = path.join(SHIM, 'node_modules', 'binaryen', 'bin', 'wasm-opt');
// The same feature flags as scripts/build-bundle.sh.
const WASM_OPT_FLAGS = ['-Oz', '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-reference-types', '--enable-multivalue'];

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

function tempProject(prefix, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const [from, to] of files) fs.cpSync(from, path.join(dir, to), { recursive: true });
  fs.symlinkSync(path.join(SHIM, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

function flexBuild(dir, env = {}) {
  return run('npx', ['--no-install', 'flex-plugin', 'build'], { cwd: dir, env: { ...process.env, CI: 'true', ...env } });
}

/** The empty FlexPlugin, built now; its bundle is kept in bench/floor/build/. */
async function buildFloor() {
  const dir = tempProject('mos-bench-floor-', [
    [path.join(FLOOR_SRC, 'package.json'), 'package.json'],
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

/** The plugin with the wasm inlined as plain base64 (what deflate saves). */
async function buildBase64Variant() {
  const files = [
    [path.join(SHIM, 'package.json'), 'package.json'],
    [path.join(SHIM, 'src'), 'src'],
  ];
  if (fs.existsSync(path.join(SHIM, '.env'))) files.push([path.join(SHIM, '.env'), '.env']);
  const dir = tempProject('mos-bench-b64-', files);
  try {
    await run(process.execPath, [path.join(SHIM, 'scripts', 'inline-wasm.js'), OPT_WASM, path.join(dir, 'src', 'generated', 'wasm-bytes.js'), 'base64']);
    // Same default as scripts/build-bundle.sh (.env, when present, wins there and here).
    await flexBuild(dir, { FLEX_APP_FUNCTIONS_BASE_URL: process.env.FLEX_APP_FUNCTIONS_BASE_URL || 'http://localhost:3100' });
    return sizeOf(path.join(dir, 'build', 'plugin-mos-score.js'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A named twin of the shipped wasm: same crate, same release profile, but
 * symbols kept (strip=debuginfo), then wasm-bindgen and wasm-opt -Oz -g.
 * Its own target dir, so it never waits on or disturbs other builds.
 */
async function buildNamedWasm() {
  const target = path.join(ROOT, 'target', 'bench-names');
  const env = { ...process.env, CARGO_PROFILE_RELEASE_STRIP: 'debuginfo', CARGO_PROFILE_RELEASE_DEBUG: '0' };
  await run('cargo', ['build', '--quiet', '--release', '--lib', '--target', 'wasm32-unknown-unknown', '--target-dir', target], { cwd: ROOT, env });
  const raw = path.join(target, 'wasm32-unknown-unknown', 'release', 'flex_mos_score.wasm');
  const out = path.join(target, 'bench-bindgen');
  fs.mkdirSync(out, { recursive: true });
  await run('wasm-bindgen', ['--target', 'web', '--omit-default-module-path', '--keep-debug', '--out-dir', out, '--out-name', 'flex_mos_score', raw]);
  const named = path.join(out, 'flex_mos_score_named.opt.wasm');
  await run(WASM_OPT, [...WASM_OPT_FLAGS, '-g', path.join(out, 'flex_mos_score_bg.wasm'), '-o', named]);
  return named;
}

/**
 * Everything static. Each part fails on its own (`error` set) so one broken
 * build does not hide the other figures.
 */
async function measureSizes({ breakdown = true } = {}) {
  const result = {};
  try {
    result.bundle = sizeOf(BUNDLE);
  } catch (e) {
    result.bundleError = e;
  }
  try {
    const buf = fs.readFileSync(OPT_WASM);
    result.wasm = { file: OPT_WASM, raw: buf.length, gzip: gzip9(buf), sections: wasmSize.sections(buf), functions: wasmSize.functions(buf).length };
  } catch (e) {
    result.wasmError = e;
  }
  const [floor, b64, named] = await Promise.allSettled([
    buildFloor(),
    result.wasm ? buildBase64Variant() : Promise.reject(new Error('no optimised wasm')),
    breakdown ? buildNamedWasm() : Promise.reject(new Error('skipped (BENCH_BREAKDOWN=0)')),
  ]);
  if (floor.status === 'fulfilled') result.floor = floor.value;
  else result.floorError = floor.reason;
  if (b64.status === 'fulfilled') result.base64 = b64.value;
  else result.base64Error = b64.reason;
  if (named.status === 'fulfilled') {
    const buf = fs.readFileSync(named.value);
    const fns = wasmSize.functions(buf);
    result.named = {
      file: named.value,
      code: (wasmSize.sections(buf).find((s) => s.name === 'code') || {}).size || 0,
      groups: wasmSize.groups(fns),
      top: [...fns].sort((a, b) => b.size - a.size).slice(0, 8),
    };
  } else result.namedError = named.reason;
  return result;
}

module.exports = { measureSizes, gzip9, sizeOf, BUNDLE, OPT_WASM, FLOOR_OUT };
