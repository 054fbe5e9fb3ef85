/*
 * Benchmark probe, added to every bench page as an init script (it runs
 * before the page's own scripts). It only observes, except where it says so.
 *
 * Two pages use it (bench/browser.js):
 *   - the start page (bench/start-page.html): no Flex, a stand-in
 *     `Twilio.Flex.Plugins.init` and manager (events: a small EventEmitter);
 *     __bench.load(bundleUrl) evaluates the plugin bundle as an inline
 *     <script> and resolves with marks from evaluation start to the core's
 *     `taskWrapup` listener;
 *   - the real Flex page (e2e/flex, window.Harness): __bench.wrapups() and
 *     __bench.flow() drive wrap-ups through Flex's own emitter, and
 *     __bench.stubFunctions() answers the two Functions in-page.
 *
 * How the loader's start is split (js-shim/src/core.js: the inlined bytes are
 * decoded, inflated by DecompressionStream, then wasm-bindgen's async
 * init({ module_or_path: bytes }) calls WebAssembly.instantiate(bytes, imports)):
 *   - the plugin's init(flex, manager) call (the prototype's init, patched when
 *     Plugins.init receives the class): its synchronous part on the main
 *     thread (the early-wrap-up queue, decoding, setting up the inflate), and
 *     when its promise settles (just after the core's start() returned);
 *   - Uint8Array.fromBase64 / atob: the decoding alone (main thread, inside init());
 *   - from init() returning to the compile: the inflate (async: the loader's
 *     promise chain yields; nothing of ours blocks the page meanwhile);
 *   - WebAssembly.instantiate(bytes, imports) is replaced by what V8 does for
 *     it, in two visible steps: WebAssembly.compile(bytes) (async, compiled
 *     off the main thread) then new WebAssembly.Instance(module, imports)
 *     (synchronous, main thread, timed). instantiate(module, imports) is timed
 *     as the Instance alone. The Instance's memory is kept (wasm memory figure);
 *   - manager.events.addListener('taskWrapup'): the first call is the loader's
 *     early-wrap-up queue (synchronous in init()); the first after the Instance
 *     exists is the wasm core's own listener (start()), the end of the start.
 */
(function () {
  'use strict';

  const B = (window.__bench = { marks: {}, memory: null, instances: 0, calls: { get: 0, create: 0, other: 0, rejected: [] } });
  const now = () => performance.now();
  const W = WebAssembly;

  function keepMemory(instance) {
    B.instances += 1;
    // By kind, not by name: shrink-wasm.js minifies the export names.
    const exports = (instance && instance.exports) || {};
    const mem = Object.values(exports).find((x) => x instanceof W.Memory);
    if (mem) B.memory = mem;
  }
  const OrigInstance = W.Instance;
  const origCompile = W.compile.bind(W);
  function instantiateTimed(module, imports) {
    const t0 = now();
    const instance = new OrigInstance(module, imports);
    if (B.marks.instantiateStart === undefined) {
      B.marks.instantiateStart = t0;
      B.marks.instantiateEnd = now();
    }
    keepMemory(instance);
    return instance;
  }
  W.instantiate = function (source, imports) {
    if (source instanceof W.Module) {
      try {
        return Promise.resolve(instantiateTimed(source, imports));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const t0 = now();
    return origCompile(source).then((module) => {
      if (B.marks.compileStart === undefined) {
        B.marks.compileStart = t0;
        B.marks.compileEnd = now();
        B.marks.compileAsync = true;
      }
      return { module, instance: instantiateTimed(module, imports) };
    });
  };
  // The synchronous paths (initSync, an older loader): timed, on the main thread.
  const OrigModule = W.Module;
  W.Module = new Proxy(OrigModule, {
    construct(target, args, newTarget) {
      const t0 = now();
      const m = Reflect.construct(target, args, newTarget);
      if (B.marks.compileStart === undefined) {
        B.marks.compileStart = t0;
        B.marks.compileEnd = now();
        B.marks.compileAsync = false;
      }
      return m;
    },
  });
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

  // The inlined bytes: Uint8Array.fromBase64 or atob (main thread), timed alone. First call
  // after evaluation starts only.
  const markDecode = () => {
    if (B.marks.evalStart !== undefined && B.marks.decodeStart === undefined) B.marks.decodeStart = now();
  };
  const markDecodeEnd = () => {
    if (B.marks.decodeStart !== undefined && B.marks.decodeEnd === undefined) B.marks.decodeEnd = now();
  };
  const origAtob = window.atob;
  window.atob = function (...args) {
    markDecode();
    const r = origAtob.apply(this, args);
    markDecodeEnd();
    return r;
  };
  const origFromBase64 = Uint8Array.fromBase64;
  if (typeof origFromBase64 === 'function') {
    Uint8Array.fromBase64 = function (...args) {
      markDecode();
      const r = origFromBase64.apply(this, args);
      markDecodeEnd();
      return r;
    };
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
   * Times the plugin's init(flex, manager) call itself: its synchronous part
   * (the loader's early-wrap-up queue, decoding the inlined bytes, setting up
   * the inflate) runs on the main thread before the loader's promise chain
   * yields; and when its promise settles (just after the core's start()
   * returned). Patched on the class Plugins.init receives, before Flex
   * instantiates it.
   */
  function timeInit(PluginClass) {
    const proto = PluginClass && PluginClass.prototype;
    if (!proto || typeof proto.init !== 'function' || proto.init.benchTimed) return;
    const init = proto.init;
    proto.init = function (...args) {
      const t0 = now();
      const first = B.marks.initStart === undefined;
      const result = init.apply(this, args);
      if (first) {
        B.marks.initStart = t0;
        B.marks.initEnd = now();
        // Settles a microtask after the loader's start(...) call returned: the
        // rest of that synchronous call, after the listener, ends here.
        if (result && typeof result.then === 'function') result.then(() => (B.marks.initSettled = now()), () => {});
      }
      return result;
    };
    proto.init.benchTimed = true;
  }

  // ------------------------------------------------------------------ start page

  /**
   * Evaluates the bundle on the start page (window.StartPage) and resolves
   * when the wasm core registered its taskWrapup listener (or, with
   * waitListener false, right after evaluation).
   */
  B.load = async function (bundleUrl, waitListener = true) {
    const text = await (await fetch(bundleUrl)).text();
    const events = window.StartPage.manager.events;
    const plugins = window.Twilio.Flex.Plugins;
    const pluginsInit = plugins.init;
    plugins.init = function (PluginClass, ...rest) {
      timeInit(PluginClass);
      return pluginsInit.call(this, PluginClass, ...rest);
    };
    const add = events.addListener;
    let registered;
    const done = new Promise((r) => (registered = r));
    events.addListener = function (name, fn) {
      if (name === 'taskWrapup') {
        if (B.marks.hold === undefined) B.marks.hold = now();
        if (B.marks.listener === undefined && B.marks.instantiateEnd !== undefined) {
          B.marks.listener = now();
          registered();
        }
      }
      return add.call(this, name, fn);
    };
    const script = document.createElement('script');
    script.textContent = text;
    B.marks.evalStart = now();
    document.head.appendChild(script); // inline: evaluated synchronously here
    B.marks.evalEnd = now();
    try {
      if (waitListener) await withTimeout(done, 10000, 'plugin start (no taskWrapup listener from the wasm core)');
      await window.StartPage.settled();
    } finally {
      events.addListener = add;
      plugins.init = pluginsInit;
    }
    const errors = window.StartPage.errors.slice();
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    return Object.assign({ crossOriginIsolated: window.crossOriginIsolated === true, listeners: events.listenerCount('taskWrapup') }, B.marks);
  };

  // ------------------------------------------------------------------ real Flex page

  const hex = (n, width) => n.toString(16).padStart(width, '0');

  /**
   * A task for Harness.addTask, number i: its own WT/WR SIDs, the worker's
   * call leg CA… in the conference (real ConferenceParticipants) and in the
   * attributes, as e2e/support/stack.js seedCall() builds them.
   */
  function taskSpec(base, workerSid, i) {
    const taskSid = `WT${hex(0xbe7c4, 8)}${hex(i, 24)}`;
    const reservationSid = `WR${hex(0xbe7c4, 8)}${hex(i, 24)}`;
    const callSid = `CA${hex(0xca11, 8)}${hex(i, 24)}`;
    const customer = `CA${hex(0xc057, 8)}${hex(i, 24)}`;
    const attributes = JSON.parse(JSON.stringify(base.attributes));
    attributes.call_sid = customer;
    if (attributes.conference) attributes.conference.participants = { customer, worker: callSid };
    return {
      taskSid,
      reservationSid,
      callSid,
      taskChannelUniqueName: 'voice',
      queueName: base.queueName,
      attributes,
      legs: [
        { type: 'customer', callSid: customer, status: 'left' },
        { type: 'agent', callSid, workerSid, reservationSid, status: 'joined' },
      ],
    };
  }

  /** What Flex does when a finished reservation goes (WORKER_DELETE_RESERVATION), so the store does not grow. */
  function dropTask(t) {
    window.Harness.store.dispatch({ type: 'WORKER_DELETE_RESERVATION', payload: { sid: t.reservationSid } });
  }

  /**
   * n wrap-ups on the real Flex page, one per macrotask: each task arrives and
   * is accepted (untimed), then Harness.wrapup() (Flex's WorkerListener path:
   * a new TaskRouterTask, emitTaskUpdated 'updated' then 'wrapup'). Timed:
   * manager.events.emit('taskWrapup') -> the TaskRouter SDK task's
   * setAttributes call (Flex's TaskRouterTask.setAttributes forwards to it).
   */
  B.wrapups = async function (n, base, workerSid) {
    const H = window.Harness;
    const events = H.manager.events;
    const emit = events.emit;
    let t0 = 0;
    events.emit = function (name, ...args) {
      if (name === 'taskWrapup') t0 = now();
      return emit.apply(this, [name, ...args]);
    };
    const times = [];
    let synchronous = 0;
    try {
      for (let i = 0; i < n; i += 1) {
        const t = taskSpec(base, workerSid, 1e6 + i);
        H.addTask(t);
        H.accept(t.taskSid);
        const sdk = H.task(t.taskSid)._task;
        if (!sdk || typeof sdk.setAttributes !== 'function') throw new Error('no TaskRouter SDK task behind Flex\'s TaskRouterTask (_task)');
        const set = sdk.setAttributes;
        let t1 = null;
        sdk.setAttributes = function (attrs) {
          if (t1 === null) t1 = now();
          return set.call(this, attrs);
        };
        t0 = 0;
        H.wrapup(t.taskSid);
        if (t1 !== null) synchronous += 1;
        else {
          for (let k = 0; k < 50 && t1 === null; k += 1) await yieldTask();
          if (t1 === null) throw new Error(`setAttributes was not called for ${t.taskSid}`);
        }
        if (!t0) throw new Error('taskWrapup was not emitted through manager.events.emit');
        times.push(t1 - t0);
        await yieldTask();
        dropTask(t);
      }
    } finally {
      events.emit = emit;
      H.setAttributesCalls.length = 0;
    }
    return { times, synchronous };
  };

  /**
   * Answers the two Functions in-page, at once, for requests to `baseUrl`
   * (the bench bundle's baked-in https://….invalid URL); anything else goes on
   * to the page's fetch. Checks what the plugin sends against
   * docs/contract.md: a form POST with exactly the contract's fields, the
   * agent's token, and for create the proof get_mos_score gave for that task
   * and call; otherwise answers 400 invalid_parameter / invalid_proof and
   * records why (B.calls.rejected), as the real Functions would refuse it.
   */
  B.stubFunctions = function (baseUrl, summary, token) {
    const previous = window.fetch;
    const GET = ['CallSid', 'TaskSid', 'Token'];
    const CREATE = ['Average', 'CallSid', 'Minimum', 'PoorShare', 'Proof', 'Samples', 'Source', 'TaskSid', 'Token'];
    const OPTIONAL = ['AttributeSlot'];
    let created = 0;
    const answer = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    const reject = (why, status, code) => {
      B.calls.rejected.push(why);
      return answer(status, { error: { code, message: why } });
    };
    const proofOf = (f) => `v1.bench.${f.TaskSid}.${f.CallSid}`;
    window.fetch = async function (input, init) {
      const req = new Request(input, init);
      if (!req.url.startsWith(`${baseUrl}/`)) {
        B.calls.other += 1;
        return previous.call(this, input, init);
      }
      const name = req.url.slice(baseUrl.length + 1);
      if (req.method !== 'POST' || !/^application\/x-www-form-urlencoded/.test(req.headers.get('content-type') || '')) {
        return reject(`${name}: not a form POST`, 415, 'unsupported_media_type');
      }
      const form = new URLSearchParams(await req.text());
      const fields = {};
      for (const [k, v] of form) {
        if (k in fields) return reject(`${name}: ${k} twice`, 400, 'invalid_parameter');
        fields[k] = v;
      }
      const keys = Object.keys(fields).filter((k) => !OPTIONAL.includes(k)).sort();
      const want = name === 'get_mos_score' ? GET : name === 'create_mos_score_task' ? CREATE : null;
      if (!want) return reject(`unknown Function ${name}`, 404, 'not_found');
      if (keys.join() !== want.join()) return reject(`${name}: fields ${keys.join()} (want ${want.join()})`, 400, 'invalid_parameter');
      if (fields.Token !== token) return reject(`${name}: not the agent's token`, 403, 'invalid_token');
      if (!/^WT[0-9a-fA-F]{32}$/.test(fields.TaskSid) || !/^CA[0-9a-fA-F]{32}$/.test(fields.CallSid)) return reject(`${name}: bad SIDs`, 400, 'invalid_parameter');
      if (name === 'get_mos_score') {
        B.calls.get += 1;
        return answer(200, Object.assign({}, summary, { proof: proofOf(fields) }));
      }
      if (fields.Proof !== proofOf(fields)) return reject('create_mos_score_task: not the proof get_mos_score gave', 400, 'invalid_proof');
      const same = ['average', 'minimum', 'poorShare', 'samples'].every((k) => Number(fields[k[0].toUpperCase() + k.slice(1)]) === summary[k]);
      if (!same || fields.Source !== summary.source) return reject('create_mos_score_task: numbers or source differ from get_mos_score\'s', 400, 'invalid_proof');
      B.calls.create += 1;
      created += 1;
      return answer(200, { sid: `WT${hex(0x5c0, 8)}${hex(created, 24)}`, created: true });
    };
  };

  function storedJobs() {
    let n = 0;
    for (let i = 0; i < localStorage.length; i += 1) if ((localStorage.key(i) || '').startsWith('mos-score:')) n += 1;
    return n;
  }

  /**
   * n whole wrap-ups (link, wait, get_mos_score, MOS attribute,
   * create_mos_score_task) of tasks number offset.. on the real Flex page,
   * then waits until all have finished: the stub has created n MOS tasks and
   * no job is left in localStorage (the core's timer count is not reachable
   * from the page: the wasm module is private to the webpack bundle). Each
   * finished task's reservation is then deleted from Flex's store
   * (WORKER_DELETE_RESERVATION) and the harness's record of setAttributes
   * calls is emptied. With `plugin` false (the control page: no plugin) it
   * only drives the same tasks.
   */
  B.flow = async function (n, base, workerSid, offset, timeoutMs, plugin = true) {
    const H = window.Harness;
    const t0 = now();
    const target = B.calls.create + n;
    const tasks = [];
    for (let i = offset; i < offset + n; i += 1) {
      const t = taskSpec(base, workerSid, i);
      H.addTask(t);
      H.accept(t.taskSid);
      H.wrapup(t.taskSid);
      tasks.push(t);
      await yieldTask();
    }
    const limit = t0 + (timeoutMs || 120000);
    while (plugin) {
      if (B.calls.create >= target && storedJobs() === 0) break;
      if (B.calls.rejected.length) throw new Error(`the Functions stub refused: ${B.calls.rejected.slice(0, 3).join('; ')}`);
      if (now() > limit) throw new Error(`flow: after ${Math.round(now() - t0)} ms only ${B.calls.create}/${target} MOS tasks, ${storedJobs()} stored jobs`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = now() - t0;
    // Let the last setAttributes promises (the harness answers after 5 ms) settle.
    await new Promise((r) => setTimeout(r, 50));
    tasks.forEach(dropTask);
    H.setAttributesCalls.length = 0;
    H.fetches.length = 0;
    return { ms, calls: { get: B.calls.get, create: B.calls.create, other: B.calls.other }, stored: storedJobs(), errors: H.errors.slice() };
  };

  B.wasmMemoryBytes = () => (B.memory ? B.memory.buffer.byteLength : null);

  /*
   * The real Flex page's start: the harness appends the plugin's
   * <script uuid src async> once window.Harness.manager exists; this observer
   * (a microtask later, before the script can run) wraps Flex's
   * Plugins.init (the bundle's top level has run: `evalStart` here means
   * "Plugins.init called"; the evaluation itself is not observable for a
   * src script) and manager.events.addListener (the loader's queue, then the
   * core's listener), as B.load does on the start page.
   */
  new MutationObserver((records, observer) => {
    const added = records.some((r) => Array.from(r.addedNodes).some((n) => n.tagName === 'SCRIPT' && n.hasAttribute('uuid')));
    if (!added || !window.Harness || !window.Harness.manager || !window.Twilio) return;
    observer.disconnect();
    const events = window.Harness.manager.events;
    const plugins = window.Twilio.Flex.Plugins;
    const init = plugins.init;
    plugins.init = function (...args) {
      if (B.marks.evalStart === undefined) B.marks.evalStart = now();
      timeInit(args[0]);
      return init.apply(this, args);
    };
    const add = events.addListener;
    events.addListener = function (name, fn) {
      if (name === 'taskWrapup') {
        if (B.marks.hold === undefined) B.marks.hold = now();
        if (B.marks.listener === undefined && B.marks.instantiateEnd !== undefined) B.marks.listener = now();
      }
      return add.call(this, name, fn);
    };
    B.flexHooked = true;
  }).observe(document, { childList: true, subtree: true });
})();
