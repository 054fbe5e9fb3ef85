'use strict';
/**
 * Bundles the real @twilio/flex-ui (with react/react-dom 17, redux and
 * @twilio/voice-sdk, all pinned in e2e/package.json) for the browser with
 * esbuild: e2e/.build/flex/flex.js, about 18 MB minified. Skipped when the output is
 * up to date with e2e/package-lock.json and the files in e2e/flex/ (a stamp
 * holds their hash). Not in git (e2e/.build/ is ignored).
 *
 *   node e2e/flex/build.js         # build if stale, print the path
 *   const { ensureFlexBundle } = require('./build'); ensureFlexBundle() -> path
 */
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const HERE = __dirname;
const E2E = path.resolve(HERE, '..');
const OUT_DIR = path.join(E2E, '.build', 'flex');
const OUT = path.join(OUT_DIR, 'flex.js');
const STAMP = path.join(OUT_DIR, 'stamp');

function inputsHash() {
  const h = crypto.createHash('sha256');
  const files = [path.join(E2E, 'package-lock.json'), path.join(HERE, 'build.js'), path.join(HERE, 'entry.js')];
  for (const f of fs.readdirSync(path.join(HERE, 'shims')).sort()) files.push(path.join(HERE, 'shims', f));
  for (const f of files) h.update(f.slice(E2E.length)).update(fs.readFileSync(f));
  return h.digest('hex');
}

function upToDate(hash) {
  try {
    return fs.readFileSync(STAMP, 'utf8') === hash && fs.statSync(OUT).size > 0;
  } catch (e) {
    return false;
  }
}

/** Builds e2e/.build/flex/flex.js unless it is up to date; returns its path. */
function ensureFlexBundle({ quiet } = {}) {
  const hash = inputsHash();
  if (upToDate(hash)) return OUT;
  const say = (m) => quiet || console.log(`[flex-bundle] ${m}`);
  say('esbuild @twilio/flex-ui 2.17.1 for the browser (once, about 10-30 s)');
  const t0 = Date.now();
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const esbuild = require('esbuild');
  esbuild.buildSync({
    absWorkingDir: E2E,
    entryPoints: [path.join(HERE, 'entry.js')],
    bundle: true,
    outfile: OUT,
    format: 'iife',
    platform: 'browser',
    target: 'chrome100',
    minify: true,
    sourcemap: false,
    logLevel: 'error',
    define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
    inject: [path.join(HERE, 'shims', 'process.js')],
    alias: { fs: path.join(HERE, 'shims', 'fs.js'), path: path.join(HERE, 'shims', 'path.js') },
    loader: { '.woff': 'empty', '.woff2': 'empty', '.ttf': 'empty', '.svg': 'dataurl', '.png': 'dataurl', '.mp3': 'empty', '.css': 'empty' },
  });
  fs.writeFileSync(STAMP, hash);
  say(`${path.relative(path.resolve(E2E, '..'), OUT)}: ${(fs.statSync(OUT).size / 1e6).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return OUT;
}

module.exports = { ensureFlexBundle };

if (require.main === module) console.log(ensureFlexBundle());
