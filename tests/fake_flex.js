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

const realLockRequest = navigator.locks.request.bind(navigator.locks);

/** Web Locks that refuse every request without calling back (SecurityError). */
export function refuseLocks() {
  navigator.locks.request = () => Promise.reject(new DOMException('The request was denied.', 'SecurityError'));
}

export function removeLocks() {
  navigator.locks.request = undefined;
}

// localStorage refuses every write, as with a full quota or blocked storage.
const realSetItem = Storage.prototype.setItem;
export function refuseStorage() {
  Storage.prototype.setItem = () => {
    throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  };
}

export function reset() {
  navigator.locks.request = realLockRequest;
  Storage.prototype.setItem = realSetItem;
  localStorage.clear();
  state.requests = [];
  state.scripts = {};
  state.logs = [];
  state.created = new Map();
  state.setAttributesCalls = [];
}

const ACCOUNT = 'AC' + '0123456789abcdef'.repeat(2);
const WORKER = 'WK' + 'a'.repeat(32);

/**
 * As strict as the real Flex Manager where the plugin touches it:
 * `manager.events` is a new Proxy on every access (so listeners must be
 * removed through the emitter, not by identity of the proxy), and nothing
 * here keeps a reference to the plugin.
 */
export function makeManager(customDataJson, token, worker = WORKER) {
  const emitter = new Emitter();
  const manager = {
    user: { token },
    workerClient: { sid: worker },
    store: { getState: () => ({ flex: { session: { ssoTokenPayload: { token } } } }) },
    serviceConfiguration: {
      account_sid: ACCOUNT,
      ui_attributes: { custom_data: { mos_score: JSON.parse(customDataJson) } },
    },
  };
  Object.defineProperty(manager, 'events', { get: () => new Proxy(emitter, {}) });
  return manager;
}

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

// An ITask built from a fixture, shaped as Flex 2.x's TaskRouterTask: its
// fields are prototype getters (not own properties), and setAttributes
// returns a Promise.
const DATA = new WeakMap();
class FakeTask {
  setAttributes(attributes) {
    const data = DATA.get(this);
    state.setAttributesCalls.push({ taskSid: data.taskSid, attributes: structuredClone(attributes) });
    if (data.failSetAttributes) return Promise.reject(new Error('Forbidden by TaskRouter'));
    data.attributes = attributes;
    return Promise.resolve(this);
  }
}
for (const key of ['taskSid', 'sid', 'taskChannelUniqueName', 'status', 'attributes', 'conference', 'workerSid']) {
  Object.defineProperty(FakeTask.prototype, key, { get() { return DATA.get(this)[key]; } });
}

export function makeTask(fixtureJson, patchJson) {
  const data = JSON.parse(fixtureJson);
  Object.assign(data, patchJson ? JSON.parse(patchJson) : {});
  const task = new FakeTask();
  DATA.set(task, data);
  return task;
}

export function emitWrapup(manager, task) { manager.events.emit('taskWrapup', task); }
export function emitEvent(manager, name, task) { manager.events.emit(name, task); }
export function replaceVoiceClient(manager, empty) {
  manager.voiceClient = empty ? new Proxy({}, {}) : Object.assign(new Emitter(), { calls: [] });
  return manager.voiceClient;
}
export function createdParams(i) { return JSON.stringify([...state.created.values()][i].params); }

// Scripts the next answers of one Function. Each entry is
// {status, body} | {network: true} | {hang: true} | {text, status}.
export function script(fn, answersJson) { state.scripts[fn] = JSON.parse(answersJson); }

const GET_FIELDS = ['Token', 'TaskSid', 'CallSid'];
const CREATE_FIELDS = ['Token', 'TaskSid', 'CallSid', 'AttributeSlot', 'Average', 'Minimum', 'PoorShare', 'Samples', 'Source'];
const bad = (status, code, message) => ({ status, body: { error: { code, message } } });

/** The fake server's proof over a summary, as get_mos_score would sign it. */
function proofOf(p, s) {
  return 'fake-hmac.' + btoa([p.TaskSid.toLowerCase(), p.CallSid.toLowerCase(), s.average, s.minimum, s.poorShare, s.samples].join('|'));
}

/** A 400 unless `params` has exactly the contract's fields (docs/contract.md). */
function checkFields(params, required, optional = []) {
  for (const k of required) if (!params[k]) return bad(400, 'invalid_parameter', `${k} is required`);
  for (const k of Object.keys(params)) if (!required.includes(k) && !optional.includes(k)) return bad(400, 'invalid_parameter', `${k} is not accepted`);
  if (!/^WT[0-9a-fA-F]{32}$/.test(params.TaskSid)) return bad(400, 'invalid_parameter', 'TaskSid');
  if (!/^CA[0-9a-fA-F]{32}$/.test(params.CallSid)) return bad(400, 'invalid_parameter', 'CallSid');
  return null;
}

function answer(fn, params) {
  const queue = state.scripts[fn] || [];
  const scripted = queue.length > 1 ? queue.shift() : queue[0];
  if (fn === 'get_mos_score') {
    const refused = checkFields(params, GET_FIELDS);
    if (refused) return refused;
    const next = scripted || { status: 200, body: { average: 4.31, minimum: 3.02, poorShare: 0.05, samples: 360, source: 'voice-insights' } };
    if (next.status !== 200 || !next.body || next.body.proof !== undefined) return next;
    const fmt = (x) => Number(x).toFixed(2);
    const b = next.body;
    return { ...next, body: { ...b, proof: proofOf(params, { average: fmt(b.average), minimum: fmt(b.minimum), poorShare: fmt(b.poorShare), samples: String(b.samples) }) } };
  }
  if (fn !== 'create_mos_score_task') return bad(404, 'not_found', fn);
  const refused = checkFields(params, CREATE_FIELDS, ['Proof']);
  if (refused) return refused;
  if (params.Source === 'voice-insights') {
    const want = proofOf(params, { average: params.Average, minimum: params.Minimum, poorShare: params.PoorShare, samples: params.Samples });
    if (params.Proof !== want) return bad(400, 'invalid_proof', 'the summary is not the one get_mos_score signed');
  } else if (params.Source !== 'sdk' || params.Proof !== undefined) {
    return bad(400, 'invalid_parameter', 'Source');
  }
  if (scripted) return scripted;
  // The ledger: one MOS task per original task, whatever the SID's case.
  const original = params.TaskSid.toLowerCase();
  if (state.created.has(original)) return { status: 200, body: { sid: state.created.get(original).sid, created: false } };
  const sid = 'WT' + 'f'.repeat(30) + String(state.created.size).padStart(2, '0');
  state.created.set(original, { sid, params });
  return { status: 200, body: { sid, created: true } };
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
  if (a.hang) {
    // Never answers; only the caller's AbortSignal ends it, as in a browser.
    await new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(new DOMException('signal is aborted without reason', 'AbortError'))));
  }
  const text = a.text !== undefined ? a.text : JSON.stringify(a.body);
  return new Response(text, { status: a.status, headers: { 'content-type': a.text !== undefined ? 'text/html' : 'application/json' } });
};

export function requests(fn) { return JSON.stringify(state.requests.filter((r) => !fn || r.fn === fn)); }
export function setAttributesCalls() { return JSON.stringify(state.setAttributesCalls); }
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
