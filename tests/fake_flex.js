// A fake Flex UI 2.x host for the wasm browser tests: Manager, ITask, a
// Voice SDK Device, a scripted Functions backend (a fetch stub that records
// every request), and a console spy. Shapes follow @twilio/flex-ui 2.x.

class Emitter {
  constructor() { this.listeners = {}; }
  addListener(event, fn) { (this.listeners[event] ||= []).push(fn); return this; }
  removeListener(event, fn) {
    this.listeners[event] = (this.listeners[event] || []).filter((f) => f !== fn);
    return this;
  }
  on(event, fn) { return this.addListener(event, fn); }
  off(event, fn) { return this.removeListener(event, fn); }
  emit(event, ...args) { for (const fn of [...(this.listeners[event] || [])]) fn(...args); }
  listenerCount(event) { return (this.listeners[event] || []).length; }
}

const state = { requests: [], scripts: {}, logs: [], created: new Map(), setAttributesCalls: [] };
const realFetch = globalThis.fetch.bind(globalThis);
const realConsole = {};

for (const level of ['debug', 'info', 'warn', 'error', 'log']) {
  realConsole[level] = console[level].bind(console);
  console[level] = (...args) => {
    state.logs.push({ level, line: args.map(String).join(' ') });
    realConsole[level](...args);
  };
}

export function reset() {
  localStorage.clear();
  state.requests = [];
  state.scripts = {};
  state.logs = [];
  state.created = new Map();
  state.setAttributesCalls = [];
}

export function makeManager(customDataJson, token) {
  const manager = {
    events: new Emitter(),
    user: { token },
    store: { getState: () => ({ flex: { session: { ssoTokenPayload: { token } } } }) },
    serviceConfiguration: {
      ui_attributes: { custom_data: { mos_score: JSON.parse(customDataJson) } },
    },
  };
  return manager;
}

export function setToken(manager, token) { manager.user.token = token; }

export function listenerCount(manager) { return manager.events.listenerCount('taskWrapup'); }

export function addVoiceClient(manager) {
  manager.voiceClient = new Emitter();
  manager.voiceClient.calls = [];
  return manager.voiceClient;
}

// An incoming Voice SDK call whose 'sample' events carry `mos`.
export function sdkCall(device, callSid, mosValues) {
  const call = new Emitter();
  call.parameters = { CallSid: callSid };
  device.emit('incoming', call);
  for (const mos of mosValues) call.emit('sample', { mos, jitter: 1, rtt: 40 });
}

// An ITask built from a fixture; setAttributes returns a Promise (Flex 2.x).
export function makeTask(fixtureJson, patchJson) {
  const data = JSON.parse(fixtureJson);
  const patch = patchJson ? JSON.parse(patchJson) : {};
  Object.assign(data, patch);
  const task = {
    ...data,
    setAttributes(attributes) {
      state.setAttributesCalls.push({ taskSid: task.taskSid, attributes: structuredClone(attributes) });
      if (patch.failSetAttributes) return Promise.reject(new Error('Forbidden by TaskRouter'));
      task.attributes = attributes;
      return Promise.resolve(task);
    },
  };
  return task;
}

export function emitWrapup(manager, task) { manager.events.emit('taskWrapup', task); }

// Scripts the next answers of one Function. Each entry is
// {status, body} | {network: true} | {text, status}.
export function script(fn, answersJson) { state.scripts[fn] = JSON.parse(answersJson); }

function answer(fn, params) {
  const queue = state.scripts[fn] || [];
  const next = queue.length > 1 ? queue.shift() : queue[0];
  if (next) return next;
  if (fn === 'get_mos_score') {
    return { status: 200, body: { average: 4.31, minimum: 3.02, poorShare: 0.05, samples: 360, source: 'voice-insights' } };
  }
  // create_mos_score_task: idempotent per OriginalTaskSid, like the real one.
  const original = params.OriginalTaskSid;
  if (state.created.has(original)) return { status: 200, body: { sid: state.created.get(original), created: false } };
  const sid = 'WT' + 'f'.repeat(30) + String(state.created.size).padStart(2, '0');
  state.created.set(original, sid);
  return { status: 201, body: { sid, created: true } };
}

export function backendUrl() { return 'https://mos-test-1234.twil.io'; }

globalThis.fetch = async (input, init) => {
  const request = input instanceof Request ? input : new Request(input, init);
  if (!request.url.startsWith(backendUrl())) return realFetch(input, init);
  const fn = request.url.slice(backendUrl().length + 1);
  const body = await request.text();
  const params = Object.fromEntries(new URLSearchParams(body));
  state.requests.push({ fn, contentType: request.headers.get('content-type'), params, at: performance.now() });
  const a = answer(fn, params);
  if (a.network) throw new TypeError('Failed to fetch');
  const text = a.text !== undefined ? a.text : JSON.stringify(a.body);
  return new Response(text, { status: a.status, headers: { 'content-type': a.text !== undefined ? 'text/html' : 'application/json' } });
};

export function requests(fn) { return JSON.stringify(state.requests.filter((r) => !fn || r.fn === fn)); }
export function setAttributesCalls() { return JSON.stringify(state.setAttributesCalls); }
export function createdCount() { return state.requests.filter((r) => r.fn === 'create_mos_score_task').length; }
export function uniqueMosTasks() { return state.created.size; }
export function logs() { return JSON.stringify(state.logs); }
export function storageKeys() { return JSON.stringify(Object.keys(localStorage)); }
export function storageSet(key, value) { localStorage.setItem(key, value); }
export function storageGet(key) { return localStorage.getItem(key); }
// Names of the Web Locks held in this origin right now (all tabs).
export async function heldLocks() {
  const state = await navigator.locks.query();
  return JSON.stringify(state.held.map((l) => l.name));
}

/** Five forced full GCs with a macrotask between each, so finalizers run. */
export async function forceGc() {
  if (typeof globalThis.gc !== 'function') throw new Error('no gc(): start Chromium with --js-flags=--expose-gc');
  for (let i = 0; i < 5; i += 1) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 10));
  }
}
