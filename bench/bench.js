#!/usr/bin/env node
'use strict';
/**
 * `make bench` (scripts/bench.sh): sizes and speeds of the plugin, one line
 * per figure, each against its budget (issue 6). Budgets are reported as
 * ok/OVER and never fail the command; it exits non-zero only when a
 * measurement itself failed.
 *
 * Expects the bench's bundle (out/bench-bundle/plugin-mos-score.js, or
 * BENCH_BUNDLE_DIR) and the optimised wasm it inlines
 * (js-shim/src/generated/flex_mos_score_bg.opt.wasm): scripts/bench.sh builds
 * both first.
 *
 * Env: BENCH_LOADS (50), BENCH_WRAPUPS (1000), BENCH_FLOWS (1000),
 *      BENCH_COMPARE_LOADS (20: start of the floor and the plain-base64 build),
 *      BENCH_FLEX_LOADS (5: start inside the real Flex UI page, a cross-check),
 *      BENCH_BREAKDOWN=0 to skip the named rebuild behind the wasm breakdown,
 *      BENCH_BROWSER=0 to stop after the static figures,
 *      BENCH_CRATES=0 to skip the crate-vs-hand-rolled builds (bench/crates.js),
 *      BENCH_BURST=0 to skip bench/functions-burst.js and bench/server-mode.js.
 */
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { measureSizes, BUNDLE_DIR } = require('./sizes');
const { measureBrowser } = require('./browser');

const ROOT = path.resolve(__dirname, '..');
const KiB = 1024;
const MiB = 1024 * 1024;
const BUDGET = {
  // Issue 12's bar.
  bundleGzip: 28 * KiB,
  wasmRaw: 32 * KiB,
  // Issue 12: main-thread work before the listener.
  startMainMedianMs: 5,
  wrapupMedianMs: 0.5,
  memoryGrowth: MiB,
  backendRequests: 1,
  backendSamplesUpTo: 1000,
};
const env = (k, d) => (process.env[k] ? Number(process.env[k]) : d);
const LOADS = env('BENCH_LOADS', 50);
const WRAPUPS = env('BENCH_WRAPUPS', 1000);
const FLOWS = env('BENCH_FLOWS', 1000);
const COMPARE_LOADS = env('BENCH_COMPARE_LOADS', 20);
const FLEX_LOADS = env('BENCH_FLEX_LOADS', 5);

let failed = 0;
const say = (line) => console.log(`bench: ${line}`);
const verdict = (ok) => (ok ? 'ok' : 'OVER');
function fail(figure, err) {
  failed += 1;
  say(`${figure}: MEASUREMENT FAILED: ${String((err && err.message) || err).split('\n').slice(0, 6).join(' | ')}`);
}

function sorted(xs) {
  return [...xs].sort((a, b) => a - b);
}
function median(xs) {
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
/** Nearest-rank percentile. */
function pct(xs, p) {
  const s = sorted(xs);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
}
const ms = (x, d = 2) => `${x.toFixed(d)} ms`;
const signed = (n) => (n >= 0 ? `+${n}` : `${n}`);
const kib = (n) => `${(n / KiB).toFixed(1)} KiB`;
const firstLine = (e) => String((e && e.message) || e).split('\n')[0];

function reportSizes(s) {
  const floors = (k) => {
    const parts = [];
    if (k === 'bundle' && s.floor) parts.push(`empty FlexPlugin ${s.floor.raw} B raw, ${s.floor.gzip} B gzip-9`);
    else if (k === 'bundle' && s.floorError) parts.push(`empty FlexPlugin: failed (${firstLine(s.floorError)})`);
    if (s.plumbing) parts.push(`plumbing-only crate ${s.plumbing[k].raw} B raw, ${s.plumbing[k].gzip} B gzip-9`);
    else if (s.plumbingError) parts.push(`plumbing-only crate: failed (${firstLine(s.plumbingError)})`);
    return parts.length ? ` | floors (same run, same toolchain): ${parts.join('; ')}` : '';
  };
  // 1. bundle
  if (s.bundle) {
    const above = s.plumbing ? `; above the plumbing floor ${signed(s.bundle.gzip - s.plumbing.bundle.gzip)} B gzip-9` : '';
    say(
      `bundle ${path.basename(s.bundle.file)} ${s.bundle.raw} B raw, ${s.bundle.gzip} B gzip-9 ` +
        `(budget ${BUDGET.bundleGzip} B gzip-9: ${verdict(s.bundle.gzip <= BUDGET.bundleGzip)}${above})${floors('bundle')}`,
    );
  } else fail('bundle', s.bundleError);
  if (s.bundle && s.floor && s.wasm) {
    // The deflated wasm travels as base64, which gzip squeezes back to about the deflated size.
    const b64 = (fs.readFileSync(s.bundle.file, 'utf8').match(/[A-Za-z0-9+/]{1000,}=*/) || [''])[0];
    const deflated = Math.floor((b64.replace(/=+$/, '').length * 3) / 4);
    const rest = s.bundle.gzip - s.floor.gzip - deflated;
    say(
      `bundle composition (gzip-9, approximate): empty plugin ${s.floor.gzip} B + inlined wasm ~${deflated} B ` +
        `(its Zopfli deflate; the wasm's own gzip-9 is ${s.wasm.gzip} B) + wasm-bindgen JS glue and loader ~${rest} B`,
    );
  }
  if (s.base64 && s.bundle) {
    say(
      `bundle encoding: wasm inlined deflate+base64 (shipped) ${s.bundle.gzip} B gzip-9 vs plain base64 ${s.base64.raw} B raw, ` +
        `${s.base64.gzip} B gzip-9 (${signed(s.base64.gzip - s.bundle.gzip)} B gzip-9; comparison only)`,
    );
  } else if (s.base64Error) say(`bundle encoding comparison: unavailable (${firstLine(s.base64Error)})`);

  // 2. wasm
  if (s.wasm) {
    const w = s.wasm;
    say(
      `wasm ${path.basename(w.file)} (after wasm-opt -Oz${w.minified ? ', names minified' : ''}) ${w.raw} B raw, ${w.gzip} B gzip-9 ` +
        `(budget ${BUDGET.wasmRaw} B raw: ${verdict(w.raw <= BUDGET.wasmRaw)}; ${signed(w.raw - BUDGET.wasmRaw)} B)${floors('wasm')}`,
    );
    say(
      `wasm sections: ${w.sections
        .slice()
        .sort((a, b) => b.size - a.size)
        .map((x) => `${x.name} ${x.size} B`)
        .join(', ')} (${w.functions} functions)`,
    );
  } else fail('wasm', s.wasmError);

  // 3. the minified-names lever, both ways in this run
  if (s.names && s.wasm && s.bundle) {
    const [on, off] = s.names.minified ? [s.names, { wasm: s.wasm, bundle: s.bundle }] : [{ wasm: s.wasm, bundle: s.bundle }, s.names];
    say(
      `lever minified import/export names (js-shim/scripts/shrink-wasm.js; shipped ${s.wasm.minified ? 'with' : 'without'} it): ` +
        `without ${off.wasm.raw} B wasm raw, ${off.bundle.gzip} B bundle gzip-9; with ${on.wasm.raw} B wasm raw, ${on.bundle.gzip} B bundle gzip-9; ` +
        `effect ${signed(on.wasm.raw - off.wasm.raw)} B wasm raw, ${signed(on.wasm.gzip - off.wasm.gzip)} B wasm gzip-9, ${signed(on.bundle.gzip - off.bundle.gzip)} B bundle gzip-9`,
    );
  } else if (s.namesError) fail('lever minified names', s.namesError);

  // 4. where the bytes go
  if (s.named) {
    const { shortName } = require('./wasm-size');
    const total = s.named.groups.reduce((a, g) => a + g.size, 0);
    const shippedCode = s.wasm ? (s.wasm.sections.find((x) => x.name === 'code') || {}).size : '?';
    say(
      `wasm code by crate (named twin: same crate, cargo arguments and profile, symbols kept; ` +
        `${s.named.sameFunctions ? 'the same function sizes as the shipped module' : 'FUNCTION SIZES DIFFER from the shipped module'}; ` +
        `code section ${s.named.code} B vs shipped ${shippedCode} B): ` +
        s.named.groups.map((g) => `${g.group} ${g.size} B (${Math.round((100 * g.size) / total)}%)`).join(', '),
    );
    say(`wasm largest functions: ${s.named.top.map((f) => `${shortName(f.name)} ${f.size} B`).join(', ')}`);
    if (!s.named.sameFunctions) fail('wasm breakdown', new Error('the named twin is not the shipped module (see above)'));
  } else if (s.namedError) say(`wasm breakdown: unavailable (${firstLine(s.namedError)})`);
}

function reportBrowser(b) {
  // 3. start
  const startLine = (rows) => {
    const col = (k) => rows.map((r) => r[k]);
    return `main thread before the core's listener median ${ms(median(col('main')))}, p95 ${ms(pct(col('main'), 95))}; ` +
      `async inflate median ${ms(median(col('inflate')))}, p95 ${ms(pct(col('inflate'), 95))}; ` +
      `evaluation -> listener median ${ms(median(col('total')))}, p95 ${ms(pct(col('total'), 95))}`;
  };
  if (b.start) {
    const main = median(b.start.map((r) => r.main));
    say(
      `start (${b.start.length} fresh page loads, bench/start-page.html: stand-in Flex manager, see bench/README.md): ${startLine(b.start)} ` +
        `(budget main thread median ${BUDGET.startMainMedianMs} ms: ${verdict(main <= BUDGET.startMainMedianMs)})`,
    );
    const part = (k) => ms(median(b.start.map((r) => r[k])));
    const asyncCompile = b.start.every((r) => r.compileAsync);
    say(
      `start breakdown (medians): main thread: evaluate bundle ${part('evaluate')}, the plugin's init() ${part('init')} (of which decode base64 ${part('decode')}), ` +
        `${asyncCompile ? '' : `compile ${part('compile')}, `}instantiate ${part('instantiate')}, wasm-bindgen init + start() to the listener ${part('start')}; ` +
        `main thread after the listener, same start() call (stored jobs, early wrap-ups) ${part('after')}, p95 ${ms(pct(b.start.map((r) => r.after), 95))}; ` +
        `not main-thread work: evaluation -> init() ${part('toInit')}, inflate (init() returned -> compile) ${part('inflate')}` +
        `${asyncCompile ? `, compile (WebAssembly.compile, async) ${part('compile')}` : ''}; ` +
        `the loader's early-wrap-up queue listens ${part('hold')} after evaluation starts`,
    );
  } else fail('start', b.startError);
  const cmp = [];
  if (b.startFloor) cmp.push(`empty FlexPlugin evaluation median ${ms(median(b.startFloor.map((r) => r.evaluate)))} (${b.startFloor.length} loads)`);
  else if (b.startFloorError) cmp.push(`empty FlexPlugin: failed (${firstLine(b.startFloorError)})`);
  if (b.startPlumbing) cmp.push(`plumbing-only crate ${startLine(b.startPlumbing)} (${b.startPlumbing.length} loads)`);
  else if (b.startPlumbingError) cmp.push(`plumbing-only crate: failed (${firstLine(b.startPlumbingError)})`);
  if (b.startBase64) cmp.push(`plain-base64 bundle ${startLine(b.startBase64)} (${b.startBase64.length} loads)`);
  else if (b.startBase64Error) cmp.push(`plain-base64 bundle: failed (${firstLine(b.startBase64Error)})`);
  if (cmp.length) say(`start floors and comparison: ${cmp.join('; ')}`);
  if (b.startFlex) {
    const r = b.startFlex;
    const part = (k) => ms(median(r.map((x) => x[k])));
    say(
      `start inside the real Flex UI 2.17.1 page (${r.length} fresh loads; cross-check, from Flex's Plugins.init being called, as the bundle's evaluation of a src script is not observable there): ` +
        `main thread median ${part('main')}, p95 ${ms(pct(r.map((x) => x.main), 95))} (init() ${part('init')}, of which decode ${part('decode')}; instantiate ${part('instantiate')}, wasm-bindgen init + start() to the listener ${part('start')}; after the listener ${part('after')}); ` +
        `async inflate ${part('inflate')}, compile ${part('compile')}; Plugins.init -> listener median ${part('total')}, p95 ${ms(pct(r.map((x) => x.total), 95))}`,
    );
  } else if (b.startFlexError) fail('start inside the real Flex page', b.startFlexError);

  // 4. wrap-up
  if (b.wrapup) {
    const t = b.wrapup.times;
    const med = median(t);
    say(
      `wrapup (real Flex UI 2.17.1 page: Harness.wrapup -> manager.events.emit('taskWrapup') -> the TaskRouter SDK task's setAttributes call) ` +
        `median ${ms(med, 3)}, p95 ${ms(pct(t, 95), 3)}, max ${ms(Math.max(...t), 3)} over ${t.length} wrap-ups of distinct tasks, ` +
        `${b.wrapup.synchronous} of them within the emit (budget median ${BUDGET.wrapupMedianMs} ms: ${verdict(med <= BUDGET.wrapupMedianMs)})`,
    );
  } else fail('wrapup', b.wrapupError);

  // 5. memory
  if (b.memory) {
    const m = b.memory;
    const dHeap = m.after.heap - m.before.heap;
    const dWasm = m.after.wasm - m.before.wasm;
    const c = m.control;
    const dControl = c ? c.after.heap - c.before.heap : null;
    const dPlugin = c ? dHeap - dControl : dHeap;
    const ok = dPlugin <= BUDGET.memoryGrowth && dWasm <= BUDGET.memoryGrowth;
    const control = c
      ? `same page and tasks without the plugin ${signed(dControl)} B, so the plugin's share ${signed(dPlugin)} B (${kib(dPlugin)})`
      : `control page failed (${firstLine(m.controlError)}): the growth includes Flex's and the harness's own`;
    say(
      `memory (real Flex UI page) after ${m.n} completed wrap-ups (delaySeconds ${m.delaySeconds}, in-page Functions stub checking the contract's fields and proof, ${ms(m.flowMs, 0)}; ` +
        `done = ${m.n} get_mos_score + ${m.n} create_mos_score_task answered, no job left in localStorage; finished reservations deleted from Flex's store; forced GC): ` +
        `JS heap ${m.before.heap} -> ${m.after.heap} B (${signed(dHeap)} B; ${control}), ` +
        `wasm memory ${m.before.wasm} -> ${m.after.wasm} B (${signed(dWasm)} B, ${kib(dWasm)}) ` +
        `(budget plugin's growth within ${BUDGET.memoryGrowth} B: ${verdict(ok)})`,
    );
    const dHeap2 = m.again.heap - m.after.heap;
    const dWasm2 = m.again.wasm - m.after.wasm;
    const dControl2 = c ? c.again.heap - c.after.heap : null;
    say(
      `memory, ${m.n} more wrap-ups (one-time cost or leak?): JS heap ${signed(dHeap2)} B (${Math.round(dHeap2 / m.n)} B per wrap-up` +
        `${c ? `; without the plugin ${signed(dControl2)} B, so the plugin's ${signed(dHeap2 - dControl2)} B, ${Math.round((dHeap2 - dControl2) / m.n)} B per wrap-up` : ''}), ` +
        `wasm memory ${signed(dWasm2)} B`,
    );
  } else fail('memory', b.memoryError);
}

function reportCrates(c) {
  const LIMIT = 1024;
  for (const r of c.rows) {
    if (r.error) {
      fail(`crate ${r.what}`, r.error);
      continue;
    }
    const dRaw = r.withCrate.raw - r.base.raw;
    const dGz = r.withCrate.gzip - r.base.gzip;
    say(
      `crate ${r.what}: ${r.crate} vs ${r.hand}: ${signed(dRaw)} B wasm raw, ${signed(dGz)} B wasm gzip-9 ` +
        `(plumbing floor ${r.floor.raw} B raw, ${r.floor.gzip} B gzip-9; hand-rolled ${r.base.raw} / ${r.base.gzip} B, with the crate ${r.withCrate.raw} / ${r.withCrate.gzip} B; ` +
        `rule <= ${LIMIT} B gzip: ${dGz <= LIMIT ? 'within' : 'over'})`,
    );
  }
  if (c.std) {
    const { std, no_std: bare } = c.std;
    say(
      `crate std vs no_std (the plugin crate as in this tree, default features vs --no-default-features): std ${std.raw} B raw, ${std.gzip} B gzip-9; ` +
        `no_std ${bare.raw} B raw, ${bare.gzip} B gzip-9; std costs ${signed(std.raw - bare.raw)} B raw, ${signed(std.gzip - bare.gzip)} B gzip-9`,
    );
  } else if (c.stdError) fail('crate std vs no_std', c.stdError);
  else say('crate std vs no_std: n/a (the plugin crate has no `std` feature: it is std only)');
}

function reportBackend(rows) {
  for (const r of rows) {
    const ok = r.samples > BUDGET.backendSamplesUpTo || r.requests <= BUDGET.backendRequests;
    const budget = r.samples > BUDGET.backendSamplesUpTo ? 'budget n/a above 1000 samples' : `budget ${BUDGET.backendRequests} request: ${verdict(ok)}`;
    say(
      `backend get_mos_score ${r.samples} samples: ${r.requests} Voice Insights request${r.requests === 1 ? '' : 's'} ` +
        `(original sample, all edges PageSize 50: ${r.baselineRequests}), handler median ${ms(r.handlerMs, 1)} ` +
        `+ ${r.tokenValidations} token validation (${budget})`,
    );
  }
}

/** Runs another bench script in its own Node process; its stdout (its `bench:` lines) goes through as it is. */
function runScript(figure, file) {
  return new Promise((resolve) => {
    say(`${figure}: node ${path.relative(ROOT, file)}...`);
    const child = spawn(process.execPath, [file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.on('data', (d) => process.stdout.write(d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => {
      fail(figure, e);
      resolve();
    });
    child.on('close', (code) => {
      if (code !== 0) fail(figure, new Error(`${path.basename(file)} exited ${code}: ${err.trim().split('\n').slice(-6).join(' | ')}`));
      resolve();
    });
  });
}

async function main() {
  const t0 = Date.now();
  say(`sizes: building the floor plugin and the comparison builds...`);
  const sizes = await measureSizes({ breakdown: process.env.BENCH_BREAKDOWN !== '0' });
  reportSizes(sizes);

  if (process.env.BENCH_CRATES !== '0') {
    say('crates: building bench/plumbing once per boundary part, hand-rolled and through the crate...');
    try {
      const { measureCrates } = require('./crates');
      reportCrates(await measureCrates({ minify: sizes.wasm ? sizes.wasm.minified : false }));
    } catch (e) {
      fail('crates', e);
    }
  }

  if (process.env.BENCH_BROWSER === '0') {
    for (const cleanup of sizes.cleanups) cleanup();
    say(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s (BENCH_BROWSER=0: no browser or backend figures)${failed ? `; ${failed} measurement(s) FAILED` : ''}`);
    process.exitCode = failed ? 1 : 0;
    return;
  }
  say(`browser: ${LOADS} page loads, ${WRAPUPS} timed wrap-ups, ${FLOWS}+${FLOWS} whole wrap-ups (and a control page) in headless Chromium...`);
  try {
    const compare = {
      floor: sizes.floor && sizes.floor.file,
      base64: sizes.base64 && sizes.base64.file,
      plumbing: sizes.plumbing && sizes.plumbing.bundle.file,
    };
    const bundlePath = path.join(BUNDLE_DIR, 'plugin-mos-score.js');
    const { functionsBaseUrl } = JSON.parse(fs.readFileSync(path.join(BUNDLE_DIR, 'build-info.json'), 'utf8'));
    reportBrowser(await measureBrowser({ bundlePath, functionsBaseUrl, loads: LOADS, flexLoads: FLEX_LOADS, wrapups: WRAPUPS, flows: FLOWS, compare, compareLoads: COMPARE_LOADS }));
  } catch (e) {
    fail('browser', e);
  } finally {
    for (const cleanup of sizes.cleanups) cleanup();
  }

  try {
    const { countRequests } = require(path.join(ROOT, 'functions', 'test', 'support', 'count-requests.js'));
    reportBackend(await countRequests({ sizes: [60, 360, 1440], runs: 7 }));
  } catch (e) {
    fail('backend', e);
  }

  if (process.env.BENCH_BURST !== '0') {
    await runScript('functions burst', path.join(__dirname, 'functions-burst.js'));
    // bench/server-mode.js (issue 11) comes with the server-side mode; a tree without it says so.
    const serverMode = path.join(__dirname, 'server-mode.js');
    if (fs.existsSync(serverMode)) await runScript('server-mode', serverMode);
    else say('server-mode: NOT MEASURED: bench/server-mode.js is not in this tree (it comes with the server-side mode)');
  } else say('functions burst, server-mode: skipped (BENCH_BURST=0)');
  say(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s${failed ? `; ${failed} measurement(s) FAILED` : ''}`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
