#!/usr/bin/env node
// The wasm-opt step of the bundle: `wasm-opt -Oz` on wasm-bindgen's output,
// in the same run minifying the wasm's import, export and module names
// (binaryen's `--minify-imports-and-exports-and-modules`; a second wasm-opt
// run would re-encode the code 62 B larger), and rewrites the wasm-bindgen JS
// glue to the mapping wasm-opt prints. The long names
// (`__wbg_getItem_a7cc1d4f154f2e6f`, ...) are otherwise shipped twice: in the
// wasm and in the glue, where terser cannot shorten object keys or `wasm.x`.
//
// It fails loudly, writing nothing, when the mapping cannot be applied
// exactly: every import key, module key and `wasm.<export>` of the glue must
// be found and renamed, and nothing old may remain. Then a smoke check runs
// the old and the new glue+wasm side by side in a child node process: both
// must link, and each exported function, called with the same arguments,
// must answer the same.
//
// The JS files the crate imports (`#[wasm_bindgen(module = ...)]`, copied by
// wasm-bindgen under snippets/) are inlined into the output glue first
// (`inlineSnippets`), so the glue stays one self-contained file wherever it
// is copied: the bundle, the smoke check, the bench's builds.
//
// usage: node shrink-wasm.js <in.wasm> <in-glue.js> <out.wasm> <out-glue.js>
//        (in: wasm-bindgen's output; out may be the same files)
// Without --minify the flags are the same: bench/sizes.js uses WASM_OPT_FLAGS.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const WASM_OPT = path.join(__dirname, '..', 'node_modules', 'binaryen', 'bin', 'wasm-opt');
// -Oz with the features Rust's wasm32 target emits (the npm binaryen v132; Debian's is too old).
// Functions of up to 6 bytes are inlined everywhere (-Oz's default: 2): V8 compiles each wasm
// function on its first call, on the main thread, ~20 us apiece; this leaves 12 of them to compile
// before the core's listener instead of 16, 64 after it instead of 72 (bench/README.md, start),
// and the bundle 77 B smaller gzip-9 (the wasm ~280 B bigger raw).
const WASM_OPT_FLAGS = ['-Oz', '--always-inline-max-function-size=6', '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-reference-types', '--enable-multivalue'];

function die(msg) {
  console.error(`[shrink-wasm] ${msg}`);
  process.exit(1);
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const isIdent = (s) => /^[A-Za-z_$][\w$]*$/.test(s);

/** Replaces the one match of `re` (global) in `text`; dies unless there is exactly one. */
function replaceOnce(text, re, to, what) {
  const n = (text.match(re) || []).length;
  if (n !== 1) die(`${what}: expected exactly 1 occurrence in the glue, found ${n}`);
  return text.replace(re, to);
}

/**
 * Pairs each import of the minified module with the one it was, by
 * wasm-opt's report. An import -Oz dropped as unused keeps its glue key.
 */
function importPairs(oldMod, newMod, report) {
  const before = WebAssembly.Module.imports(oldMod);
  const after = WebAssembly.Module.imports(newMod);
  const was = new Map();
  for (const [module, name, to] of report.imports || []) {
    if (was.has(to)) die(`wasm-opt reported two imports renamed to ${to}`);
    was.set(to, { module, name });
  }
  return after.map((a) => {
    const from = was.get(a.name);
    const b = from && before.find((x) => x.module === from.module && x.name === from.name);
    if (!b || b.kind !== a.kind) die(`minified import ${a.module} ${a.name} (${a.kind}) has no original in wasm-opt's report`);
    return { from: b, to: a };
  });
}

function exportPairs(oldMod, newMod, report) {
  const before = WebAssembly.Module.exports(oldMod);
  const after = new Map(WebAssembly.Module.exports(newMod).map((e) => [e.name, e.kind]));
  const pairs = (report.exports || []).map(([from, to]) => ({ from, to }));
  if (pairs.length !== before.length || pairs.length !== after.size) die(`export count mismatch: module ${before.length}, report ${pairs.length}, minified ${after.size}`);
  for (const b of before) {
    const p = pairs.find((x) => x.from === b.name);
    if (!p || after.get(p.to) !== b.kind) die(`export ${b.name} (${b.kind}) is missing from the minified module`);
  }
  return pairs;
}

function rewriteGlue(glue, imports, exports) {
  let out = glue;
  for (const { from, to } of imports) {
    if (from.name === to.name || from.module === to.module) die(`import ${from.module} ${from.name} keeps its name: is this wasm minified already?`);
  }
  const member = (name) => (isIdent(name) ? `.${name}` : `[${JSON.stringify(name)}]`);
  const key = (name) => (isIdent(name) ? name : JSON.stringify(name));
  // Import keys: `        __wbg_get_3ef1eba1850ade27: function(...` in __wbg_get_imports().
  for (const { from, to } of imports) {
    out = replaceOnce(out, new RegExp(`^(\\s*)${escape(from.name)}(\\s*:)`, 'gm'), (_, a, b) => a + key(to.name) + b, `import ${from.name}`);
  }
  // Module keys: `"./flex_mos_score_bg.js": import0`.
  const modules = new Map(imports.map(({ from, to }) => [from.module, to.module]));
  for (const [from, to] of modules) {
    if ([...modules].some(([f, t]) => t === to && f !== from)) die(`two modules minified to one name (${to})`);
    out = replaceOnce(out, new RegExp(`(["'])${escape(from)}\\1(\\s*:)`, 'g'), (_, q, b) => JSON.stringify(to) + b, `module ${from}`);
  }
  // Exports: every `wasm.<name>`.
  const newExports = new Set(exports.map((e) => e.to));
  for (const { from, to } of exports) {
    out = out.replace(new RegExp(`(?<![\\w$.])wasm\\.${escape(from)}(?![\\w$])`, 'g'), () => `wasm${member(to)}`);
  }
  // Nothing old may remain where the wasm's names are used.
  if (/(?<![\w$.])wasm\s*\[/.test(out)) die('the glue indexes `wasm[...]` dynamically; cannot rename safely');
  for (const m of out.matchAll(/(?<![\w$.])wasm\.([A-Za-z_$][\w$]*)/g)) {
    if (!newExports.has(m[1])) die(`the glue uses wasm.${m[1]}, which the minified module does not export`);
  }
  const oldNames = [...imports.map((p) => p.from.name), ...exports.map((p) => p.from), ...modules.keys()];
  for (const name of oldNames) {
    const left = new RegExp(`(?:\\.|["'])${escape(name)}(?![\\w$])|^\\s*${escape(name)}\\s*:`, 'm').exec(out);
    if (left) die(`old name ${name} is still used by the glue: ${JSON.stringify(out.slice(left.index - 20, left.index + name.length + 20))}`);
  }
  return out;
}

/**
 * The glue with each `import { a, b } from './snippets/…';` replaced by that
 * file's code, its `export function` declarations made plain. A snippet
 * with any other import or export, or that lacks a name the glue imports,
 * stops the build: the inlined code must mean exactly what the import did.
 */
function inlineSnippets(glue, glueDir) {
  return glue.replace(/^import \{([^}]*)\} from '(\.\/snippets\/[^']+)';$/gm, (line, names, spec) => {
    const file = path.join(glueDir, spec);
    if (!fs.existsSync(file)) die(`the glue imports ${spec}, which is not beside it`);
    const code = fs.readFileSync(file, 'utf8');
    // Its whole-line comments stay in the source (terser would drop them anyway).
    const plain = code
      .replace(/^\s*\/\*\*[\s\S]*?\*\/\n/gm, '')
      .replace(/^\s*\/\/.*\n/gm, '')
      .replace(/^export function /gm, 'function ');
    if (/^\s*(import|export)\b/m.test(plain)) die(`${spec}: only \`export function\` declarations can be inlined`);
    for (const name of names.split(',').map((n) => n.trim())) {
      if (!isIdent(name)) die(`${spec}: cannot inline the import \`${name}\``);
      if (!new RegExp(`^export function ${escape(name)}\\(`, 'm').test(code)) die(`${spec} does not export function ${name}`);
    }
    // The comment names the file but never this script: the checks below would
    // read `…-wasm.js` as a use of `wasm.js`.
    return `// ${spec.replace(/^.*?\/snippets\/[^/]+\//, '')} (inlined at build time)\n${plain.trim()}`;
  });
}

// Runs in a child process: loads one glue+wasm pair and calls each exported
// function with the same arguments; prints what each one answered.
const PROBE = `
const [glueFile, wasmFile] = process.argv.slice(1);
const describe = (v) => (v === null || typeof v !== 'object' && typeof v !== 'function') ? JSON.stringify(v) ?? String(v) : '[' + (v.constructor && v.constructor.name) + ']';
for (const k of ['log', 'info', 'warn', 'error', 'debug']) console[k] = () => {};
import(require('url').pathToFileURL(glueFile)).then((glue) => {
  const exp = glue.initSync({ module: require('fs').readFileSync(wasmFile) });
  const out = { exports: Object.keys(glue).sort(), calls: {} };
  for (const [name, f] of Object.entries(glue)) {
    if (typeof f !== 'function' || name === 'initSync' || name === 'default' || /^class\\b/.test(Function.prototype.toString.call(f))) continue;
    try { out.calls[name] = 'ok ' + describe(f({}, {}, {})); } catch (e) { out.calls[name] = 'threw ' + (e && e.constructor && e.constructor.name) + ': ' + (e && e.message); }
  }
  out.wasmExports = Object.keys(exp).length;
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}).catch((e) => { process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) })); process.exit(0); });
`;

function probe(dir, tag, glue, wasm) {
  const g = path.join(dir, `${tag}.mjs`);
  const w = path.join(dir, `${tag}.wasm`);
  fs.writeFileSync(g, glue);
  fs.writeFileSync(w, wasm);
  const out = execFileSync(process.execPath, ['-e', PROBE, g, w], { encoding: 'utf8', timeout: 20000 });
  const r = JSON.parse(out);
  if (r.error) die(`smoke check: the ${tag} glue+wasm failed to load: ${r.error.split('\n').slice(0, 3).join(' | ')}`);
  return r;
}

function smoke(oldGlue, oldWasm, newGlue, newWasm) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shrink-wasm-'));
  try {
    const before = probe(dir, 'before', oldGlue, oldWasm);
    const after = probe(dir, 'after', newGlue, newWasm);
    if (JSON.stringify(before) !== JSON.stringify(after)) {
      die(`smoke check: the minified build answers differently:\n  before ${JSON.stringify(before)}\n  after  ${JSON.stringify(after)}`);
    }
    if (!Object.keys(after.calls).length) die('smoke check: the glue exports no function to call');
    return after;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main() {
  const [wasmFile, glueFile, outWasm, outGlue] = process.argv.slice(2);
  if (!outGlue) {
    console.error('usage: shrink-wasm.js <in.wasm> <in-glue.js> <out.wasm> <out-glue.js>');
    process.exit(2);
  }
  const oldWasm = fs.readFileSync(wasmFile);
  const oldGlue = inlineSnippets(fs.readFileSync(glueFile, 'utf8'), path.dirname(glueFile));
  const tmp = path.join(os.tmpdir(), `shrink-wasm-${process.pid}.wasm`);
  let report;
  let newWasm;
  try {
    const stdout = execFileSync(WASM_OPT, [...WASM_OPT_FLAGS, '--minify-imports-and-exports-and-modules', wasmFile, '-o', tmp], { encoding: 'utf8', maxBuffer: 16 << 20 });
    try {
      report = JSON.parse(stdout);
    } catch (e) {
      die(`wasm-opt's mapping is not the JSON this script reads (${e.message}): ${stdout.slice(0, 200)}`);
    }
    newWasm = fs.readFileSync(tmp);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  const oldMod = new WebAssembly.Module(oldWasm);
  const newMod = new WebAssembly.Module(newWasm);
  const imports = importPairs(oldMod, newMod, report);
  const exports = exportPairs(oldMod, newMod, report);
  const newGlue = rewriteGlue(oldGlue, imports, exports);
  const checked = smoke(oldGlue, oldWasm, newGlue, newWasm);
  fs.writeFileSync(outWasm, newWasm);
  fs.writeFileSync(outGlue, newGlue);
  console.log(
    `[shrink-wasm] wasm-opt -Oz, ${imports.length} imports and ${exports.length} exports renamed: wasm ${oldWasm.length} -> ${newWasm.length} B, ` +
      `glue ${Buffer.byteLength(oldGlue)} -> ${Buffer.byteLength(newGlue)} B; smoke check ok (as before: ${Object.entries(checked.calls).map(([k, v]) => `${k}({}, {}, {}) ${v.slice(0, 80)}`).join('; ')})`,
  );
}

module.exports = { WASM_OPT, WASM_OPT_FLAGS, inlineSnippets };
if (require.main === module) main();
