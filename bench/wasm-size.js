'use strict';
/**
 * Where a wasm module's bytes go, without any tool: a minimal reader of the
 * binary format (sections, function bodies, data segments, the `name`
 * section's function names).
 *
 *   const { sections, functions, groups } = require('./wasm-size');
 *   sections(buf)   -> [{ id, name, size }]          size includes the section header
 *   functions(buf)  -> [{ index, name, size }]       body bytes per defined function
 *   groups(fns)     -> [{ group, size, count }]      by crate (see groupOf), largest first
 *   withoutCustom(buf, ['target_features']) -> buf   the module minus those custom sections
 *   sectionBytes(buf, 'code') -> payload | null
 */

const SECTION = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'datacount', 'tag'];

function reader(buf, pos = 0) {
  const r = {
    pos,
    u8: () => buf[r.pos++],
    leb() {
      let result = 0;
      let shift = 0;
      for (;;) {
        const b = buf[r.pos++];
        if (b === undefined) throw new Error('wasm: truncated LEB128');
        result += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (!(b & 0x80)) return result;
      }
    },
    bytes(n) {
      const out = buf.subarray(r.pos, r.pos + n);
      r.pos += n;
      return out;
    },
    name() {
      return Buffer.from(r.bytes(r.leb())).toString('utf8');
    },
    limits() {
      const flags = r.u8();
      r.leb();
      if (flags & 1) r.leb();
    },
  };
  return r;
}

function check(buf) {
  if (buf.length < 8 || buf.readUInt32LE(0) !== 0x6d736100) throw new Error('wasm: not a wasm module');
}

/** Raw sections: [{ id, name, start, end, size }] (start/end of the payload; size with header). */
function rawSections(buf) {
  check(buf);
  const out = [];
  const r = reader(buf, 8);
  while (r.pos < buf.length) {
    const headerStart = r.pos;
    const id = r.u8();
    const len = r.leb();
    const start = r.pos;
    let name = SECTION[id] || `unknown-${id}`;
    if (id === 0) name = `custom:${reader(buf, start).name()}`;
    out.push({ id, name, start, end: start + len, size: start + len - headerStart });
    r.pos = start + len;
  }
  return out;
}

/** Section sizes, in file order. */
function sections(buf) {
  return rawSections(buf).map(({ id, name, size }) => ({ id, name, size }));
}

function importedFunctions(buf, sec) {
  if (!sec) return 0;
  const r = reader(buf, sec.start);
  let n = 0;
  for (let i = r.leb(); i > 0; i -= 1) {
    r.name();
    r.name();
    const kind = r.u8();
    if (kind === 0) {
      r.leb();
      n += 1;
    } else if (kind === 1) {
      r.u8();
      r.limits();
    } else if (kind === 2) r.limits();
    else if (kind === 3) {
      r.u8();
      r.u8();
    } else if (kind === 4) {
      r.u8();
      r.leb();
    } else throw new Error(`wasm: unknown import kind ${kind}`);
  }
  return n;
}

function functionNames(buf, sec) {
  const names = new Map();
  if (!sec) return names;
  const r = reader(buf, sec.start);
  r.name(); // "name"
  while (r.pos < sec.end) {
    const sub = r.u8();
    const len = r.leb();
    const end = r.pos + len;
    if (sub === 1) {
      for (let i = r.leb(); i > 0; i -= 1) {
        const idx = r.leb();
        names.set(idx, r.name());
      }
    }
    r.pos = end;
  }
  return names;
}

/** Defined functions with their body sizes and (when the module has a name section) names. */
function functions(buf) {
  const secs = rawSections(buf);
  const code = secs.find((s) => s.id === 10);
  if (!code) return [];
  const imported = importedFunctions(buf, secs.find((s) => s.id === 2));
  const names = functionNames(buf, secs.find((s) => s.name === 'custom:name'));
  const r = reader(buf, code.start);
  const out = [];
  const n = r.leb();
  for (let i = 0; i < n; i += 1) {
    const start = r.pos;
    const len = r.leb();
    r.pos += len;
    const index = imported + i;
    out.push({ index, name: names.get(index) || `func[${index}]`, size: r.pos - start });
  }
  return out;
}

// Crates as they appear in (demangled) Rust symbol names, e.g. `core[c5930c85a12de822]::fmt::write`.
const CRATES = ['flex_mos_score', 'wasm_bindgen_futures', 'wasm_bindgen', 'js_sys', 'web_sys', 'gloo_timers', 'lol_alloc', 'once_cell', 'alloc', 'core', 'std', 'hashbrown'];
// Panic paths: with panic=abort the message is still formatted, which drags core::fmt in.
const PANIC_RE = /slice_error_fail|slice_index_fail|slice_end_index|slice_start_index|core(?:\[[0-9a-f]+\])?::panicking|do_count_chars|unwrap_failed|expect_failed|panic/;
const CRATE_RE = new RegExp(`(?:^|[^A-Za-z0-9_])(${CRATES.join('|')})(?:\\[[0-9a-f]+\\])?::([A-Za-z0-9_]+)`);

/**
 * The group a function's bytes are charged to: the leftmost crate in its
 * name (so `<char as core::fmt::Debug>::fmt` is core::fmt and
 * `alloc::vec::Vec<flex_mos_score::…>::push` is alloc), with our crate split
 * into the pure core and the wasm shell, and core::fmt with the panic paths
 * that pull it in on their own.
 */
function groupOf(name) {
  const m = CRATE_RE.exec(name);
  if (!m || m[1] === 'core') {
    if (m && (/core(?:\[[0-9a-f]+\])?::fmt::/.test(name) || m[2] === 'fmt' || PANIC_RE.test(name))) return 'core::fmt + panic paths';
  }
  if (!m) {
    if (/externref|shim|__wbindgen|__wbg|^plugin_/.test(name)) return 'wasm-bindgen glue + exports';
    if (/^func\[\d+\]$/.test(name)) return '(unnamed)';
    return 'other';
  }
  const [, crate, next] = m;
  if (crate === 'flex_mos_score') return next === 'core' || next === 'domain' ? `flex_mos_score::${next} (pure)` : 'flex_mos_score shell';
  if (crate === 'wasm_bindgen_futures' || crate === 'wasm_bindgen') return crate.replace(/_/g, '-');
  return crate;
}

function groups(fns) {
  const by = new Map();
  for (const f of fns) {
    const g = groupOf(f.name);
    const e = by.get(g) || { group: g, size: 0, count: 0 };
    e.size += f.size;
    e.count += 1;
    by.set(g, e);
  }
  return [...by.values()].sort((a, b) => b.size - a.size);
}

/** The module without the custom sections named in `names` (e.g. `target_features`). */
function withoutCustom(buf, names) {
  const keep = rawSections(buf).filter((s) => !(s.id === 0 && names.includes(s.name.slice('custom:'.length))));
  // size includes the header: the header starts at end - size.
  return Buffer.concat([buf.subarray(0, 8), ...keep.map((s) => buf.subarray(s.end - s.size, s.end))]);
}

/** The payload bytes of the first section called `name` (e.g. 'code'), or null. */
function sectionBytes(buf, name) {
  const s = rawSections(buf).find((x) => x.name === name);
  return s ? buf.subarray(s.start, s.end) : null;
}

/** Total bytes of the data segments' contents. */
function dataBytes(buf) {
  const sec = rawSections(buf).find((s) => s.id === 11);
  return sec ? sec.size : 0;
}

/** A short readable name: drop crate hashes and trailing `::h0123…`. */
function shortName(name) {
  return name
    .replace(/\[[0-9a-f]{16}\]/g, '')
    .replace(/::h[0-9a-f]{16}$/, '')
    .replace(/^flex_mos_score::/, '');
}

module.exports = { sections, functions, groups, groupOf, dataBytes, shortName, withoutCustom, sectionBytes };
