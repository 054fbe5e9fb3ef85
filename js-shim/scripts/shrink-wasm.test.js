'use strict';
// Tests of shrink-wasm.js on a small module and glue of wasm-bindgen's shape
// (assembled here with binaryen's wasm-as): the renamed pair works, and each
// way the mapping can fail to apply stops the build and writes nothing.
// Run: node --test js-shim/scripts/
const test = require('node:test');
const assert = require('node:assert');
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { pathToFileURL } = require('url');

const SCRIPT = path.join(__dirname, 'shrink-wasm.js');
const WASM_AS = path.join(__dirname, '..', 'node_modules', 'binaryen', 'bin', 'wasm-as');

const WAT = `(module
  (import "./fixture_bg.js" "__wbg_log_0123456789abcdef" (func $log (param i32)))
  (import "./fixture_bg.js" "__wbg_add_fedcba9876543210" (func $add (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "twice") (param i32) (result i32)
    (call $log (local.get 0))
    (call $add (local.get 0) (local.get 0)))
  (func (export "__wbindgen_export") (param i32) (result i32)
    (i32.add (local.get 0) (i32.const 8))))`;

const GLUE = `export const logged = [];
export function twice(x) {
    const n = typeof x === 'number' ? x : 21;
    return wasm.twice(n) + wasm.__wbindgen_export(0) - 8 + wasm.memory.buffer.byteLength * 0;
}
function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg_log_0123456789abcdef: function(arg0) {
            logged.push(arg0);
        },
        __wbg_add_fedcba9876543210: function(arg0, arg1) {
            return arg0 + arg1;
        },
    };
    return {
        __proto__: null,
        "./fixture_bg.js": import0,
    };
}
let wasm;
function initSync(module) {
    if (wasm !== undefined) return wasm;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(module.module), __wbg_get_imports());
    wasm = instance.exports;
    return wasm;
}
export { initSync };
`;

function fixture(glue = GLUE) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shrink-wasm-test-'));
  fs.writeFileSync(path.join(dir, 'in.wat'), WAT);
  execFileSync(WASM_AS, [path.join(dir, 'in.wat'), '-o', path.join(dir, 'in.wasm')]);
  fs.writeFileSync(path.join(dir, 'in.js'), glue);
  const files = { dir, wasm: path.join(dir, 'in.wasm'), glue: path.join(dir, 'in.js'), outWasm: path.join(dir, 'out.wasm'), outGlue: path.join(dir, 'out.mjs') };
  files.run = (w = files.wasm, g = files.glue) => spawnSync(process.execPath, [SCRIPT, w, g, files.outWasm, files.outGlue], { encoding: 'utf8' });
  return files;
}

test('renames every import, module and export name, and the renamed pair works', async () => {
  const f = fixture();
  const r = f.run();
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /2 imports and 3 exports renamed/);
  const mod = new WebAssembly.Module(fs.readFileSync(f.outWasm));
  const imports = WebAssembly.Module.imports(mod);
  const exports = WebAssembly.Module.exports(mod).map((e) => e.name);
  assert.ok(imports.every((i) => i.module.length <= 2 && i.name.length <= 2), JSON.stringify(imports));
  assert.ok(exports.every((n) => n.length <= 2), JSON.stringify(exports));
  const out = fs.readFileSync(f.outGlue, 'utf8');
  for (const old of ['__wbg_log_0123456789abcdef', '__wbg_add_fedcba9876543210', './fixture_bg.js', 'wasm.twice', 'wasm.memory', 'wasm.__wbindgen_export']) {
    assert.ok(!out.includes(old), `${old} is still in the glue`);
  }
  const glue = await import(pathToFileURL(f.outGlue));
  glue.initSync({ module: fs.readFileSync(f.outWasm) });
  assert.strictEqual(glue.twice(5), 10);
  assert.deepStrictEqual(glue.logged, [5]);
});

function assertRefused(r, f, pattern) {
  assert.strictEqual(r.status, 1, `expected a failure, got ${r.status}: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.ok(!fs.existsSync(f.outWasm) && !fs.existsSync(f.outGlue), 'nothing may be written on failure');
}

test('refuses a module whose names are minified already', () => {
  const f = fixture();
  assert.strictEqual(f.run().status, 0);
  const again = path.join(f.dir, 'again');
  fs.renameSync(f.outWasm, `${again}.wasm`);
  fs.renameSync(f.outGlue, `${again}.mjs`);
  assertRefused(f.run(`${again}.wasm`, `${again}.mjs`), f, /minified already/);
});

test('refuses a glue that lacks an import key', () => {
  const f = fixture(GLUE.replace('__wbg_add_fedcba9876543210: function', '__wbg_add_other: function'));
  assertRefused(f.run(), f, /__wbg_add_fedcba9876543210: expected exactly 1 occurrence/);
});

test('refuses a glue that reaches an export by a quoted name', () => {
  const f = fixture(GLUE.replace('wasm.twice(n)', 'instance_exports["twice"](n)'));
  assertRefused(f.run(), f, /old name twice is still used/);
});

test('refuses a glue that indexes wasm dynamically', () => {
  const f = fixture(GLUE.replace('wasm.twice(n)', "wasm['twi' + 'ce'](n)"));
  assertRefused(f.run(), f, /indexes `wasm\[\.\.\.\]` dynamically/);
});

test('refuses a glue that answers differently once renamed (smoke check)', () => {
  // The old glue reads the memory export through a name the rename misses on purpose.
  const f = fixture(GLUE.replace("return wasm.twice(n)", "if (globalThis.__renamed) return -1;\n    return wasm.twice(n)").replace('"./fixture_bg.js": import0,', '"./fixture_bg.js": import0,\n        __marker: (globalThis.__renamed = !Object.keys(import0).some((k) => k.startsWith("__wbg_"))),'));
  assertRefused(f.run(), f, /answers differently/);
});

// A glue that imports its add() from a snippet, as wasm-bindgen writes it
// for `#[wasm_bindgen(module = "/src/host.js")]`.
const SNIPPET = 'snippets/fixture-0123/src/host.js';
function snippetFixture(code) {
  const glue = GLUE.replace('export const logged = [];', `import { add } from './${SNIPPET}';\nexport const logged = [];`).replace(
    'return arg0 + arg1;',
    'return add(arg0, arg1);',
  );
  const f = fixture(glue);
  fs.mkdirSync(path.join(f.dir, path.dirname(SNIPPET)), { recursive: true });
  fs.writeFileSync(path.join(f.dir, SNIPPET), code);
  return f;
}

test('inlines the snippets the glue imports, so the output glue stands alone', async () => {
  const f = snippetFixture('// a comment about shrink-wasm.js\n/** doc */\nexport function add(a, b) {\n  return a + b;\n}\n');
  const r = f.run();
  assert.strictEqual(r.status, 0, r.stderr);
  const out = fs.readFileSync(f.outGlue, 'utf8');
  assert.ok(!out.includes('snippets/') && !/^import /m.test(out), out.slice(0, 300));
  assert.match(out, /^function add\(a, b\)/m);
  // Loaded from another folder: nothing beside it is needed.
  const moved = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'shrink-wasm-moved-')), 'glue.mjs');
  fs.copyFileSync(f.outGlue, moved);
  const glue = await import(pathToFileURL(moved));
  glue.initSync({ module: fs.readFileSync(f.outWasm) });
  assert.strictEqual(glue.twice(4), 8);
});

test('refuses a snippet it cannot inline exactly', () => {
  const cases = [
    ['export const add = (a, b) => a + b;\n', /only `export function` declarations/],
    ['export function sum(a, b) {\n  return a + b;\n}\n', /does not export function add/],
    ["import x from './x.js';\nexport function add(a, b) {\n  return a + b;\n}\n", /only `export function` declarations/],
  ];
  for (const [code, pattern] of cases) {
    const f = snippetFixture(code);
    assertRefused(f.run(), f, pattern);
  }
});
