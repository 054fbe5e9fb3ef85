/*
 * Benchmark probe, added to every bench page as an init script (it runs
 * before the e2e host page's flex-host.js). It only observes:
 *
 *   - WebAssembly.Module / Instance (and instantiate*) are wrapped to time
 *     compile and instantiate and to keep the instance's memory;
 *     Uint8Array.fromBase64, atob and DecompressionStream to time decoding
 *     and the start of the inflate;
 *   - __bench.load(bundleUrl) evaluates the plugin bundle as an inline
 *     <script> (downloaded first, untimed) and resolves with marks from
 *     evaluation start to the `taskWrapup` listener being registered
 *     (manager.events.addListener is wrapped for that);
 *   - __bench.wrapups(n, task) times emit('taskWrapup') -> task.setAttributes();
 *   - __bench.stubFetch(summary) answers the two Functions in-page, at once;
 *   - __bench.flow(n, task) runs n whole wrap-ups and waits for them to finish.
 *
 * The host page is window.FlexHost (e2e/host/flex-host.js).
 */
(function () {
  'use strict';

  const B = (window.__bench = { marks: {}, memory: null, instances: 0, calls: { get: 0, create: 0, other: 0 } });
  const now = () => performance.now();
  const W = WebAssembly;

  function keepMemory(instance) {
    B.instances += 1;
    // By kind, not by name: shrink-wasm.js minifies the export names.
    const exports = (instance && instance.exports) || {};
    const mem = Object.values(exports).find((x) => x instanceof W.Memory);
    if (mem) B.memory = mem;
  }
  const OrigModule = W.Module;
  W.Module = new Proxy(OrigModule, {
    construct(target, args, newTarget) {
      const t0 = now();
      const m = Reflect.construct(target, args, newTarget);
      if (B.marks.compileStart === undefined) {
        B.marks.compileStart = t0;
        B.marks.compileEnd = now();
      }
      return m;
    },
  });
  const OrigInstance = W.Instance;
  W.Instance = new Proxy(OrigInstance, {
    construct(target, args, newTarget) {
      const t0 = now();
      const inst = Reflect.construct(target, args, newTarget);
      if (B.marks.instantiateStart === undefined) {
        B.marks.instantiateStart = t0;
        B.marks.instantiateEnd = now();
      }
      keepMemory(inst);
      return inst;
    },
  });
  // An async compile (WebAssembly.compile) is off the main thread: marked as such.
  const origCompile = W.compile;
  W.compile = function (...args) {
    const t0 = now();
    return origCompile.apply(this, args).then((m) => {
      if (B.marks.compileStart === undefined) {
        B.marks.compileStart = t0;
        B.marks.compileEnd = now();
        B.marks.compileAsync = true;
      }
      return m;
    });
  };
  ['instantiate', 'instantiateStreaming'].forEach((name) => {
    const orig = W[name];
    if (typeof orig !== 'function') return;
    W[name] = function (...args) {
      return orig.apply(this, args).then((r) => {
        keepMemory(r instanceof OrigInstance ? r : r.instance);
        return r;
      });
    };
  });

  // The inlined bytes: Uint8Array.fromBase64 or atob (main thread) then, for the deflate encoding,
  // DecompressionStream (the async part). First call after evaluation only.
  const markDecode = () => {
    if (B.marks.evalStart !== undefined && B.marks.decodeStart === undefined) B.marks.decodeStart = now();
  };
  const origAtob = window.atob;
  window.atob = function (...args) {
    markDecode();
    return origAtob.apply(this, args);
  };
  const origFromBase64 = Uint8Array.fromBase64;
  if (typeof origFromBase64 === 'function') {
    Uint8Array.fromBase64 = function (...args) {
      markDecode();
      return origFromBase64.apply(this, args);
    };
  }
  if (typeof window.DecompressionStream === 'function') {
    const OrigDS = window.DecompressionStream;
    window.DecompressionStream = new Proxy(OrigDS, {
      construct(target, args, newTarget) {
        if (B.marks.evalStart !== undefined && B.marks.inflateStart === undefined) B.marks.inflateStart = now();
        return Reflect.construct(target, args, newTarget);
      },
    });
  }

  const yieldTask = (() => {
    // A macrotask without setTimeout's 4 ms clamp.
    const ch = new MessageChannel();
    const queue = [];
    ch.port1.onmessage = () => queue.shift()();
    return () =>
      new Promise((resolve) => {
        queue.push(resolve);
        ch.port2.postMessage(0);
      });
  })();

  function withTimeout(promise, ms, what) {
    let timer;
    return Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /**
   * Evaluates the bundle and resolves when the plugin registered its
   * taskWrapup listener (or, with waitListener false, right after evaluation).
   */
  B.load = async function (bundleUrl, waitListener = true) {
    const text = await (await fetch(bundleUrl)).text();
    const events = window.FlexHost.manager.events;
    const add = events.addListener;
    let registered;
    const done = new Promise((r) => (registered = r));
    events.addListener = function (name, fn) {
      if (name === 'taskWrapup' && B.marks.listener === undefined) {
        B.marks.listener = now();
        registered();
      }
      return add.call(this, name, fn);
    };
    const script = document.createElement('script');
    script.textContent = text;
    B.marks.evalStart = now();
    document.head.appendChild(script); // inline: evaluated synchronously here
    B.marks.evalEnd = now();
    try {
      if (waitListener) await withTimeout(done, 10000, 'plugin start (no taskWrapup listener)');
    } finally {
      events.addListener = add;
    }
    const errors = window.FlexHost.errors.slice();
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    return Object.assign({ crossOriginIsolated: window.crossOriginIsolated === true }, B.marks);
  };

  const hex = (n, width) => n.toString(16).padStart(width, '0');

  /** ITask JSON number i: distinct WT/WR SIDs and its own worker call leg CA…. */
  function taskJson(base, i) {
    const t = JSON.parse(JSON.stringify(base));
    t.taskSid = `WT${hex(0xbe7c4, 8)}${hex(i, 24)}`;
    t.sid = `WR${hex(0xbe7c4, 8)}${hex(i, 24)}`;
    const callSid = `CA${hex(0xca11, 8)}${hex(i, 24)}`;
    const conf = t.attributes && t.attributes.conference;
    if (conf && conf.participants) conf.participants.worker = callSid;
    if (t.conference && Array.isArray(t.conference.participants)) {
      t.conference.participants.forEach((p) => {
        if (p.participantType === 'worker' && p.isCurrentWorker) p.callSid = callSid;
      });
    }
    return t;
  }

  /** n wrap-ups, one per macrotask; ms from emit('taskWrapup') to the task's setAttributes call. */
  B.wrapups = async function (n, base) {
    const host = window.FlexHost;
    const events = host.manager.events;
    const emit = events.emit;
    let t0 = 0;
    events.emit = function (name, ...args) {
      if (name === 'taskWrapup') t0 = now();
      return emit.call(this, name, ...args);
    };
    const times = [];
    try {
      for (let i = 0; i < n; i += 1) {
        const task = host.addTask(taskJson(base, i), { setAttributesDelayMs: 0 });
        const set = task.setAttributes;
        let t1 = null;
        task.setAttributes = function (attrs) {
          if (t1 === null) t1 = now();
          return set.call(this, attrs);
        };
        host.wrapup(task.taskSid);
        if (t1 === null) throw new Error(`setAttributes was not called synchronously for ${task.taskSid}`);
        times.push(t1 - t0);
        await yieldTask();
      }
    } finally {
      events.emit = emit;
    }
    return times;
  };

  /** Replaces fetch: get_mos_score and create_mos_score_task answer at once, in-page; anything else goes on. */
  B.stubFetch = function (summary) {
    const body = JSON.stringify(summary);
    const json = { status: 200, headers: { 'content-type': 'application/json' } };
    let created = 0;
    const previous = window.fetch;
    window.fetch = function (input, init) {
      const url = typeof input === 'string' ? input : input.url;
      if (url.endsWith('/get_mos_score')) {
        B.calls.get += 1;
        return Promise.resolve(new Response(body, json));
      }
      if (url.endsWith('/create_mos_score_task')) {
        B.calls.create += 1;
        created += 1;
        return Promise.resolve(new Response(JSON.stringify({ sid: `WT${hex(0x5c0, 8)}${hex(created, 24)}`, created: true }), json));
      }
      B.calls.other += 1;
      return previous.call(this, input, init);
    };
  };

  function storedJobs() {
    let n = 0;
    for (let i = 0; i < localStorage.length; i += 1) if ((localStorage.key(i) || '').startsWith('mos-score:v1:job:')) n += 1;
    return n;
  }

  /** Number of armed job timers in the running plugin, or null when the loader exposes no count. */
  function pendingTimers() {
    const p = window.FlexHost.plugins.find((x) => x && x.core && typeof x.core.pending === 'number');
    return p ? p.core.pending : null;
  }

  /**
   * n whole wrap-ups (setAttributes, wait, get_mos_score, create_mos_score_task)
   * of tasks number offset.., 
   * then waits until every one has finished: n creates, no stored job, and no
   * armed timer when the loader exposes its count (plugin.core.pending).
   * Afterwards the host's own records of them (timeline, tasks) are dropped, as
   * Flex drops finished tasks, so only what the plugin keeps remains.
   */
  B.flow = async function (n, base, offset, timeoutMs) {
    const host = window.FlexHost;
    const t0 = now();
    const target = B.calls.create + n;
    for (let i = offset; i < offset + n; i += 1) {
      const task = host.addTask(taskJson(base, i), { setAttributesDelayMs: 0 });
      host.wrapup(task.taskSid);
      await yieldTask();
    }
    const limit = t0 + (timeoutMs || 120000);
    for (;;) {
      const timers = pendingTimers();
      if (B.calls.create >= target && storedJobs() === 0 && !timers) break;
      if (now() > limit) {
        throw new Error(`flow: after ${Math.round(now() - t0)} ms only ${B.calls.create}/${target} MOS tasks, ${storedJobs()} stored jobs, ${pendingTimers()} timers`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = now() - t0;
    const errors = host.errors.slice();
    host.timeline.length = 0;
    host.fetches.length = 0;
    host.tasks.clear();
    return { ms, calls: Object.assign({}, B.calls), errors, timersChecked: pendingTimers() !== null };
  };

  B.wasmMemoryBytes = () => (B.memory ? B.memory.buffer.byteLength : null);
})();
