#!/usr/bin/env node
'use strict';
/**
 * `make bench` (scripts/bench.sh): sizes and speeds of the plugin, one line
 * per figure, each against its budget (issue 6). Budgets are reported as
 * ok/OVER and never fail the command; it exits non-zero only when a
 * measurement itself failed.
 *
 * Expects the built bundle (js-shim/build/plugin-mos-score.js) and the
 * optimised wasm (js-shim/src/generated/flex_mos_score_bg.opt.wasm):
 * `make bench` runs `make bundle` first.
 *
 * Env: BENCH_LOADS (50), BENCH_WRAPUPS (1000), BENCH_FLOWS (1000),
 *      BENCH_COMPARE_LOADS (20: start of the floor and the plain-base64 build),
 *      BENCH_BREAKDOWN=0 to skip the named rebuild behind the wasm breakdown.
 */
const path = require('path');
const { measureSizes } = require('./sizes');
const { measureBrowser } = require('./browser');

const ROOT = path.resolve(__dirname, '..');
const KiB = 1024;
const MiB = 1024 * 1024;
const BUDGET = {
  bundleGzip: 16 * KiB,
  wasmRaw: 32 * KiB,
  startMedianMs: 3,
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

function reportSizes(s) {
  // 1. bundle vs floor
  if (s.bundle && s.floor) {
    say(
      `bundle ${path.basename(s.bundle.file)} ${s.bundle.raw} B raw, ${s.bundle.gzip} B gzip-9 | ` +
        `floor ${path.basename(s.floor.file)} (empty FlexPlugin, same toolchain) ${s.floor.raw} B raw, ${s.floor.gzip} B gzip-9 | ` +
        `difference ${signed(s.bundle.raw - s.floor.raw)} B raw, ${signed(s.bundle.gzip - s.floor.gzip)} B gzip-9 ` +
        `(budget ${BUDGET.bundleGzip} B gzip total: ${verdict(s.bundle.gzip <= BUDGET.bundleGzip)})`,
    );
  } else fail('bundle', s.bundleError || s.floorError);
  if (s.bundle && s.floor && s.wasm) {
    // The deflated wasm travels as base64, which gzip squeezes back to about the deflated size.
    const rest = s.bundle.gzip - s.floor.gzip - s.wasm.gzip;
    say(
      `bundle composition (gzip-9, approximate): floor ${s.floor.gzip} B + inlined wasm ~${s.wasm.gzip} B (its own gzip-9 size) ` +
        `+ wasm-bindgen JS glue and loader ~${rest} B; to fit 16384 B the wasm would have to gzip to ~${BUDGET.bundleGzip - s.floor.gzip - rest} B`,
    );
  }
  if (s.base64 && s.bundle) {
    say(
      `bundle encoding: wasm inlined deflate+base64 (shipped) ${s.bundle.gzip} B gzip-9 vs plain base64 ${s.base64.raw} B raw, ` +
        `${s.base64.gzip} B gzip-9 (${signed(s.base64.gzip - s.bundle.gzip)} B gzip-9; comparison only)`,
    );
  } else if (s.base64Error) say(`bundle encoding comparison: unavailable (${String(s.base64Error.message).split('\n')[0]})`);

  // 2. wasm
  if (s.wasm) {
    const w = s.wasm;
    say(
      `wasm ${path.basename(w.file)} (after wasm-opt -Oz) ${w.raw} B raw, ${w.gzip} B gzip-9 ` +
        `(budget ${BUDGET.wasmRaw} B raw: ${verdict(w.raw <= BUDGET.wasmRaw)}; ${signed(w.raw - BUDGET.wasmRaw)} B)`,
    );
    say(
      `wasm sections: ${w.sections
        .slice()
        .sort((a, b) => b.size - a.size)
        .map((x) => `${x.name} ${x.size} B`)
        .join(', ')} (${w.functions} functions)`,
    );
  } else fail('wasm', s.wasmError);
  if (s.named) {
    const { shortName } = require('./wasm-size');
    const total = s.named.groups.reduce((a, g) => a + g.size, 0);
    const shippedCode = s.wasm ? (s.wasm.sections.find((x) => x.name === 'code') || {}).size : '?';
    say(
      `wasm code by crate (named rebuild, same profile; its code section ${s.named.code} B vs shipped ${shippedCode} B): ` +
        s.named.groups.map((g) => `${g.group} ${g.size} B (${Math.round((100 * g.size) / total)}%)`).join(', '),
    );
    say(`wasm largest functions: ${s.named.top.map((f) => `${shortName(f.name)} ${f.size} B`).join(', ')}`);
  } else if (s.namedError) say(`wasm breakdown: unavailable (${String(s.namedError.message).split('\n')[0]})`);
}

function reportBrowser(b) {
  // 3. start
  if (b.start) {
    const total = b.start.map((r) => r.total);
    const part = (k) => ms(median(b.start.map((r) => r[k])));
    const med = median(total);
    say(
      `start (bundle evaluation -> taskWrapup listener) median ${ms(med)}, p95 ${ms(pct(total, 95))} over ${total.length} page loads ` +
        `(budget median ${BUDGET.startMedianMs} ms: ${verdict(med <= BUDGET.startMedianMs)})`,
    );
    say(
      `start breakdown (medians): evaluate bundle ${part('evaluate')}, init -> inflated wasm bytes ${part('bytes')}, ` +
        `compile ${part('compile')}, instantiate ${part('instantiate')}, wasm-bindgen init + start() ${part('start')}`,
    );
  } else fail('start', b.startError);
  const cmp = [];
  if (b.startFloor) cmp.push(`floor bundle evaluation median ${ms(median(b.startFloor.map((r) => r.evaluate)))} (${b.startFloor.length} loads)`);
  else if (b.startFloorError) cmp.push(`floor: failed (${String(b.startFloorError.message).split('\n')[0]})`);
  if (b.startBase64) {
    const t = b.startBase64.map((r) => r.total);
    cmp.push(
      `plain-base64 bundle start median ${ms(median(t))}, p95 ${ms(pct(t, 95))} ` +
        `(init -> wasm bytes ${ms(median(b.startBase64.map((r) => r.bytes)))}; ${b.startBase64.length} loads)`,
    );
  } else if (b.startBase64Error) cmp.push(`plain-base64 bundle: failed (${String(b.startBase64Error.message).split('\n')[0]})`);
  if (cmp.length) say(`start comparison: ${cmp.join('; ')}`);

  // 4. wrap-up
  if (b.wrapup) {
    const med = median(b.wrapup);
    say(
      `wrapup (emit taskWrapup -> setAttributes call) median ${ms(med, 3)}, p95 ${ms(pct(b.wrapup, 95), 3)}, max ${ms(Math.max(...b.wrapup), 3)} ` +
        `over ${b.wrapup.length} wrap-ups (budget median ${BUDGET.wrapupMedianMs} ms: ${verdict(med <= BUDGET.wrapupMedianMs)})`,
    );
  } else fail('wrapup', b.wrapupError);

  // 5. memory
  if (b.memory) {
    const m = b.memory;
    const dHeap = m.after.heap - m.before.heap;
    const dWasm = m.after.wasm - m.before.wasm;
    const ok = dHeap <= BUDGET.memoryGrowth && dWasm <= BUDGET.memoryGrowth;
    say(
      `memory after ${m.n} completed wrap-ups (delaySeconds ${m.delaySeconds}, in-page Functions stub, ${ms(m.flowMs, 0)}; forced GC): ` +
        `JS heap ${m.before.heap} -> ${m.after.heap} B (${signed(dHeap)} B, ${kib(dHeap)}), ` +
        `wasm memory ${m.before.wasm} -> ${m.after.wasm} B (${signed(dWasm)} B, ${kib(dWasm)}) ` +
        `(budget growth within ${BUDGET.memoryGrowth} B: ${verdict(ok)})`,
    );
    const dHeap2 = m.again.heap - m.after.heap;
    const dWasm2 = m.again.wasm - m.after.wasm;
    say(
      `memory, ${m.n} more wrap-ups (one-time cost or leak?): JS heap ${signed(dHeap2)} B (${Math.round(dHeap2 / m.n)} B per wrap-up), ` +
        `wasm memory ${signed(dWasm2)} B`,
    );
  } else fail('memory', b.memoryError);
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

async function main() {
  const t0 = Date.now();
  say(`sizes: building the floor plugin and the comparison builds...`);
  const sizes = await measureSizes({ breakdown: process.env.BENCH_BREAKDOWN !== '0' });
  reportSizes(sizes);

  say(`browser: ${LOADS} page loads, ${WRAPUPS} timed wrap-ups, ${FLOWS}+${FLOWS} whole wrap-ups in headless Chromium...`);
  try {
    const compare = { floor: sizes.floor && sizes.floor.file, base64: sizes.base64 && sizes.base64.file };
    reportBrowser(await measureBrowser({ loads: LOADS, wrapups: WRAPUPS, flows: FLOWS, compare, compareLoads: COMPARE_LOADS }));
  } catch (e) {
    fail('browser', e);
  } finally {
    if (sizes.base64) sizes.base64.cleanup();
  }

  try {
    const { countRequests } = require(path.join(ROOT, 'functions', 'test', 'support', 'count-requests.js'));
    reportBackend(await countRequests({ sizes: [60, 360, 1440], runs: 7 }));
  } catch (e) {
    fail('backend', e);
  }
  say(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s${failed ? `; ${failed} measurement(s) FAILED` : ''}`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
