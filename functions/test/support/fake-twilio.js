#!/usr/bin/env node
'use strict';
/**
 * A fake Twilio REST server on loopback, for the Functions tests, the
 * end-to-end test and the benchmark. Its bodies follow Twilio's OpenAPI specs
 * (npm @twilio-alpha/mcp, see schemas.js; the tests validate every recorded body with ajv).
 *
 * ── Stable API ──────────────────────────────────────────────────────────────
 *
 *   const { startFakeTwilio, faults, DEFAULTS } = require('functions/test/support/fake-twilio');
 *
 *   const fake = await startFakeTwilio({
 *     host: '127.0.0.1', port: 0,                 // 0 = any free port
 *     accountSid, authToken,                       // Basic auth every request must carry (DEFAULTS.*)
 *     validTokens: [DEFAULTS.validTokens[0]],      // Flex tokens IAM calls valid (worker DEFAULTS.workerSid, roles ['agent'])
 *     tokens: { [token]: { workerSid, roles, identity } },  // more valid tokens, each its own worker/roles
 *                                                  //   (makeToken('label') mints a JWT-shaped token string)
 *     handled: [{ workerSid, taskSid, status, live, minutesAgo }],  // seeds "worker WK… handled task WT…":
 *                                                  //   a reservation WR… on that task (status: 'completed' by default;
 *                                                  //   'rejected'/'timeout' = offered but not handled) and its TaskRouter
 *                                                  //   Events (reservation.created, then reservation.<accepted|rejected|timeout>)
 *                                                  //   dated minutesAgo (default 1) ago. live: false = TaskRouter already deleted
 *                                                  //   the task (5 min after it ended): only the Events remain (kept 30 days).
 *     latencyMs: 0,                                // every Twilio answer (IAM included) is delayed this long (bursts, bench)
 *     syncServiceSid: DEFAULTS.syncServiceSid,     // the one Sync service; "default" is its alias
 *     metricsByCall: { CA…: [metric items] },      // ALL edges, Twilio wire shape (fixtures/metrics/*.json)
 *     unknownCall: 404,                            // 404 (20404) for a CallSid not in metricsByCall, or 'empty'
 *     maxPageSize: 1000,                           // server-side cap on PageSize (lower it to force paging)
 *     ignoreEdgeFilter: false,                     // true: serve every edge even when Edge= is given
 *     workspaceSid, workflowSid,                   // the one workspace / workflow (DEFAULTS.*)
 *     taskChannels: ['default','voice','chat','sms','video','email','mos_score'],
 *     failures: [rule, ...],                       // see `faults` below
 *   });
 *   // fake = {
 *   //   url,            // 'http://127.0.0.1:PORT'
 *   //   port,
 *   //   requests,       // log: { method, host, path, route, query, body, status, response, at }
 *   //   tasks,          // Map sid -> task (wire shape, attributes as a JSON string); also deleted ones are removed
 *   //   metricsByCall,  // the live object; set entries to change a call's metrics
 *   //   handled,        // Map taskSid -> { sid, live, reservations: [...] } (seeded original tasks)
 *   //   sync,           // { maps: Map uniqueName -> { sid, items: Map key -> item } } of the one Sync service
 *   //   addFailure(rule), deleteTask(sid), resetRequests(), close()
 *   //   addHandled({ workerSid, taskSid, status, live, minutesAgo }), expireTask(taskSid) (live -> false)
 *   //   config          // { accountSid, authToken, workspaceSid, workflowSid, validTokens }
 *   // }
 *
 * `route` in the log is one of: 'metrics' (ListMetric), 'createTask'
 * (CreateTask), 'listTasks' (ListTask), 'fetchTask' (FetchTask), 'updateTask'
 * (UpdateTask), 'listTaskReservations' (ListTaskReservation), 'listEvents'
 * (ListEvent), 'fetchSyncService' (FetchService), 'createSyncMap', 'fetchSyncMap', 'createSyncMapItem',
 * 'fetchSyncMapItem', 'updateSyncMapItem', 'deleteSyncMapItem' (the Sync v1
 * operations of the same names), 'validateToken' (IAM), 'control', 'unknown'. `host` is the
 * Twilio host the client meant (from redirect-twilio.js), or '127.0.0.1'.
 *
 * Failure rules (consumed in order; `times` defaults to 1, Infinity allowed):
 *   { route: 'metrics'|'createTask'|…|'*', times, status, code, message, delayMs, commit, match }
 *   match: { QueryParam: 'value', ... } limits the rule to requests with those query values
 *   (e.g. { PageToken: 'PT500' } for the second page of 500);
 *   status/code give Twilio's error JSON { code, message, more_info, status };
 *   delayMs delays the answer; commit: true performs the operation first and
 *   then answers with the error (a lost success, e.g. a 500 after the create).
 *   Helpers: faults.rateLimited(route, times), faults.serverError(route, times, {commit}),
 *            faults.advancedFeaturesOff(code = 17000), faults.twilioError(route, status, code, message, times)
 *
 * Paths served (any host):
 *   GET  /v1/Voice/{CallSid}/Metrics        Edge, Direction, PageSize (default 50, max 1000), Page, PageToken
 *   POST /v1/Workspaces/{WS}/Tasks          CreateTask (form body)
 *   GET  /v1/Workspaces/{WS}/Tasks          ListTask: EvaluateTaskAttributes, AssignmentStatus, WorkflowSid, PageSize, Page, PageToken
 *   GET  /v1/Workspaces/{WS}/Tasks/{WT}     FetchTask
 *   POST /v1/Workspaces/{WS}/Tasks/{WT}     UpdateTask: AssignmentStatus, Reason, Attributes
 *   GET  /v1/Workspaces/{WS}/Tasks/{WT}/Reservations  ListTaskReservation: WorkerSid, ReservationStatus (404 once the task is deleted)
 *   GET  /v1/Workspaces/{WS}/Events          ListEvent: TaskSid, WorkerSid, EventType, ReservationSid, Minutes (default 15),
 *                                            StartDate, EndDate; only the last 30 days exist
 *   GET  /v1/Services/{IS|default}           FetchService (the one service; unique_name "default")
 *   POST /v1/Services/{IS|default}/Maps      CreateSyncMap: UniqueName (409, 54301 when taken)
 *   GET  /v1/Services/{IS}/Maps/{MP|name}    FetchSyncMap (404, 54200)
 *   POST /v1/Services/{IS}/Maps/{M}/Items    CreateSyncMapItem: Key, Data (JSON), ItemTtl/Ttl (404 54200 no map; 409 54208 key taken)
 *   GET  /v1/Services/{IS}/Maps/{M}/Items/{Key}     FetchSyncMapItem (404 54201); an expired item (TTL) is gone
 *   POST /v1/Services/{IS}/Maps/{M}/Items/{Key}     UpdateSyncMapItem: Data, ItemTtl/Ttl, header If-Match (412 54205 on a stale revision)
 *   DELETE /v1/Services/{IS}/Maps/{M}/Items/{Key}   DeleteSyncMapItem: header If-Match (204)
 *   POST /v1/Accounts/{AC}/Tokens/validate  IAM token validation as twilio-flex-token-validator calls it
 *   Control (for another process, e.g. a browser e2e): GET /__fake/requests, GET /__fake/tasks,
 *     POST /__fake/metrics/{CallSid} (JSON array), POST /__fake/failures (JSON rule), POST /__fake/reset-requests,
 *     POST /__fake/handled (JSON { workerSid, taskSid, status?, live?, minutesAgo? }), POST /__fake/tokens (JSON { token, workerSid, roles? }),
 *     POST /__fake/expire-task/{WT} (the task is deleted; its Events stay)
 *
 * CLI: `node functions/test/support/fake-twilio.js --port 0 [--metrics-dir fixtures/metrics] [--token T]`
 * prints one JSON line { url, port, accountSid, authToken, workspaceSid, workflowSid, validTokens, calls }
 * on stdout and serves until SIGINT/SIGTERM. By default it loads every fixtures/metrics/*.json.
 */
const http = require('http');
const fs = require('fs');
const path = require('path');

/** A JWT-shaped string (header.payload.signature, base64url) for a fake Flex token; IAM decides validity. */
function makeToken(label) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: String(label) })}.${Buffer.from(`sig-${label}`).toString('base64url')}`;
}

const DEFAULTS = Object.freeze({
  accountSid: 'AC' + '0123456789abcdef'.repeat(2),
  authToken: 'fake-auth-token-0123456789abcdef',
  workspaceSid: 'WS' + 'a1'.repeat(16),
  workflowSid: 'WW' + 'b2'.repeat(16),
  taskQueueSid: 'WQ' + 'c3'.repeat(16),
  validTokens: Object.freeze([makeToken('valid-flex-token')]),
  workerSid: 'WK' + '9'.padStart(32, '0'),
  syncServiceSid: 'IS' + 'd4'.repeat(16),
  taskChannels: Object.freeze(['default', 'voice', 'chat', 'sms', 'video', 'email', 'mos_score']),
});

const ROUTES = ['fetchSyncService', 'metrics', 'createTask', 'listTasks', 'fetchTask', 'updateTask', 'validateToken', 'listTaskReservations', 'listEvents',
  'createSyncMap', 'fetchSyncMap', 'createSyncMapItem', 'fetchSyncMapItem', 'updateSyncMapItem', 'deleteSyncMapItem'];
const SYNC_MAX_TTL_S = 31536000;
const EVENT_RETENTION_MS = 30 * 24 * 3600 * 1000;

const faults = {
  rateLimited: (route, times = 1) => ({ route, times, status: 429, code: 20429, message: 'Too Many Requests' }),
  serverError: (route, times = 1, { commit = false, status = 500 } = {}) => ({ route, times, status, code: 20500, message: 'Internal Server Error', commit }),
  advancedFeaturesOff: (code = 17000, times = Infinity) => ({
    route: 'metrics',
    times,
    // The HTTP status Twilio uses for these is not in the spec; 403 is assumed. The Function maps by code.
    status: 403,
    code,
    message: code === 17007 ? 'Voice Insights Advanced Features must be enabled to access this resource' : 'Voice Insights Advanced Features are not enabled for this account',
  }),
  twilioError: (route, status, code, message, times = 1) => ({ route, times, status, code, message }),
};

/* ───────────────────────── helpers ───────────────────────── */

function twilioDate(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function hex32(n) {
  return n.toString(16).padStart(32, '0');
}

function errorBody(status, code, message) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

function parseQuery(searchParams) {
  const out = {};
  for (const [k, v] of searchParams) {
    if (k in out) out[k] = [].concat(out[k], v);
    else out[k] = v;
  }
  return out;
}

function firstOf(v) {
  return Array.isArray(v) ? v[0] : v;
}

/* ─────────────── EvaluateTaskAttributes expressions ───────────────
 * Enough of TaskRouter's expression language for these tests:
 *   path.to.key == "string" | 'string' | number | true | false   (and !=, <, >, <=, >=)
 *   path HAS "value" (array contains), NOT, AND, OR (also && ||), parentheses.
 * Anything else is a 400, so a Function sending an unsupported expression fails loudly.
 */
function tokenize(src) {
  const tokens = [];
  const re = /\s*(?:(\()|(\))|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(==|!=|<=|>=|<|>|&&|\|\|)|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_.]*))/y;
  let i = 0;
  while (i < src.length) {
    if (/^\s*$/.test(src.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m) throw new Error(`unexpected input at ${i}: ${src.slice(i, i + 10)}`);
    i = re.lastIndex;
    if (m[1]) tokens.push({ t: '(' });
    else if (m[2]) tokens.push({ t: ')' });
    else if (m[3]) tokens.push({ t: 'lit', v: JSON.parse('"' + m[3].slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"') + '"') });
    else if (m[4]) tokens.push({ t: 'op', v: m[4] === '&&' ? 'AND' : m[4] === '||' ? 'OR' : m[4] });
    else if (m[5]) tokens.push({ t: 'lit', v: Number(m[5]) });
    else {
      const word = m[6];
      const upper = word.toUpperCase();
      if (upper === 'AND' || upper === 'OR' || upper === 'NOT' || upper === 'HAS') tokens.push({ t: 'op', v: upper });
      else if (word === 'true' || word === 'false') tokens.push({ t: 'lit', v: word === 'true' });
      else tokens.push({ t: 'path', v: word });
    }
  }
  return tokens;
}

function compileExpression(src) {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos];
  const take = () => tokens[pos++];
  const isOp = (v) => peek() && peek().t === 'op' && peek().v === v;

  function operand() {
    const tok = take();
    if (!tok) throw new Error('unexpected end of expression');
    if (tok.t === 'lit') return () => tok.v;
    if (tok.t === 'path') {
      const keys = tok.v.split('.');
      return (attrs) => keys.reduce((o, k) => (o !== null && typeof o === 'object' ? o[k] : undefined), attrs);
    }
    throw new Error(`expected a value, got ${tok.t} ${tok.v || ''}`);
  }
  function comparison() {
    if (isOp('NOT')) {
      take();
      const inner = comparison();
      return (a) => !inner(a);
    }
    if (peek() && peek().t === '(') {
      take();
      const inner = or();
      const close = take();
      if (!close || close.t !== ')') throw new Error('missing )');
      return inner;
    }
    const left = operand();
    const op = take();
    if (!op || op.t !== 'op' || ['AND', 'OR', 'NOT'].includes(op.v)) throw new Error('expected a comparison operator');
    const right = operand();
    switch (op.v) {
      case '==': return (a) => left(a) === right(a);
      case '!=': return (a) => left(a) !== undefined && left(a) !== right(a);
      case '<': return (a) => typeof left(a) === 'number' && left(a) < right(a);
      case '>': return (a) => typeof left(a) === 'number' && left(a) > right(a);
      case '<=': return (a) => typeof left(a) === 'number' && left(a) <= right(a);
      case '>=': return (a) => typeof left(a) === 'number' && left(a) >= right(a);
      case 'HAS': return (a) => Array.isArray(left(a)) && left(a).includes(right(a));
      default: throw new Error(`unsupported operator ${op.v}`);
    }
  }
  function and() {
    let node = comparison();
    while (isOp('AND')) {
      take();
      const l = node;
      const r = comparison();
      node = (a) => l(a) && r(a);
    }
    return node;
  }
  function or() {
    let node = and();
    while (isOp('OR')) {
      take();
      const l = node;
      const r = and();
      node = (a) => l(a) || r(a);
    }
    return node;
  }
  const root = or();
  if (pos !== tokens.length) throw new Error(`unexpected ${tokens[pos].t} ${tokens[pos].v || ''}`);
  return root;
}

/* ─────────────── TaskRouter task versions (ETag / If-Match) ───────────────
 * "Tasks have a version, represented in the ETag header when you POST or GET
 * the Task Resource ... If the ETag does not match the provided version, the
 * operation will fail with a 412 response" (https://www.twilio.com/docs/taskrouter/api/task).
 * Every successful update bumps the version. The 412 body's code is not
 * documented; 20412 is assumed (the Functions map by HTTP status only).
 */
function etagOf(task) {
  return { ETag: `"${task.version}"` };
}

/** @returns {null | [412, object]} */
function ifMatchFailure(req, task) {
  const wanted = req.headers['if-match'];
  if (wanted === undefined || wanted === '*' || wanted === etagOf(task).ETag || wanted === String(task.version)) return null;
  return [412, errorBody(412, 20412, `Task ${task.sid} has version ${task.version}; If-Match ${wanted} is stale`)];
}

/* ───────────────────────── server ───────────────────────── */

/**
 * @returns {Promise<{url:string, port:number, requests:object[], tasks:Map, metricsByCall:object,
 *   addFailure:Function, deleteTask:Function, resetRequests:Function, close:() => Promise<void>, config:object}>}
 */
async function startFakeTwilio(options = {}) {
  const cfg = {
    host: options.host || '127.0.0.1',
    port: options.port === undefined ? 0 : options.port,
    accountSid: options.accountSid || DEFAULTS.accountSid,
    authToken: options.authToken || DEFAULTS.authToken,
    workspaceSid: options.workspaceSid || DEFAULTS.workspaceSid,
    workflowSid: options.workflowSid || DEFAULTS.workflowSid,
    taskQueueSid: options.taskQueueSid || DEFAULTS.taskQueueSid,
    validTokens: new Set(options.validTokens || DEFAULTS.validTokens),
    taskChannels: options.taskChannels || DEFAULTS.taskChannels,
    unknownCall: options.unknownCall === undefined ? 404 : options.unknownCall,
    maxPageSize: options.maxPageSize || 1000,
    ignoreEdgeFilter: Boolean(options.ignoreEdgeFilter),
    latencyMs: Number(options.latencyMs) || 0,
    syncServiceSid: options.syncServiceSid || DEFAULTS.syncServiceSid,
  };
  /** token -> { workerSid, roles, identity } */
  const tokens = new Map([...cfg.validTokens].map((t) => [t, { workerSid: DEFAULTS.workerSid, roles: ['agent'], identity: 'agent_smith' }]));
  for (const [t, who] of Object.entries(options.tokens || {})) tokens.set(t, { roles: ['agent'], identity: `agent_${who.workerSid}`, ...who });
  const metricsByCall = options.metricsByCall || {};
  const failures = (options.failures || []).map((f) => ({ times: 1, ...f }));
  const requests = [];
  const tasks = new Map();
  let taskCounter = 0;
  /** Seeded original tasks: taskSid -> { sid, live, reservations: [{ sid, worker_sid, reservation_status, createdMs }] } */
  const handled = new Map();
  const events = [];
  let counter = 0;
  const nextHex = () => hex32(0xabc00000 + (counter += 1));
  /** The one Sync service: uniqueName -> { sid, unique_name, revision, createdMs, updatedMs, items: Map key -> item } */
  const sync = { maps: new Map() };
  const startedMs = Date.now();
  /** Delays end with close(): a held answer must not keep the test process alive. */
  const timers = new Set();
  const delay = (ms) => new Promise((resolve) => {
    const t = setTimeout(() => {
      timers.delete(t);
      resolve();
    }, ms);
    timers.add(t);
  });

  function addEvent(type, whenMs, data, resource) {
    events.push({ sid: 'EV' + nextHex(), event_type: type, event_date_ms: whenMs, event_data: data, resource_sid: resource.sid, resource_type: resource.type, description: `${resource.type} ${type}` });
  }

  /** Seeds "worker W handled (or was offered) task T" as TaskRouter would show it. */
  function addHandled({ workerSid, taskSid, status = 'completed', live = true, minutesAgo = 1 }) {
    if (!/^WK[0-9a-f]{32}$/.test(workerSid) || !/^WT[0-9a-f]{32}$/.test(taskSid)) throw new Error('addHandled: workerSid WK… and taskSid WT… (lowercase hex, as Twilio issues them)');
    const when = Date.now() - minutesAgo * 60000;
    const task = handled.get(taskSid) || { sid: taskSid, live, reservations: [] };
    task.live = live;
    const reservation = { sid: 'WR' + nextHex(), worker_sid: workerSid, task_sid: taskSid, reservation_status: status, createdMs: when };
    task.reservations.push(reservation);
    handled.set(taskSid, task);
    const data = { task_sid: taskSid, worker_sid: workerSid, reservation_sid: reservation.sid, workspace_sid: cfg.workspaceSid };
    addEvent('reservation.created', when, data, { sid: reservation.sid, type: 'reservation' });
    const outcome = ['rejected', 'timeout', 'canceled', 'rescinded', 'pending'].includes(status) ? status : 'accepted';
    if (outcome !== 'pending') addEvent(`reservation.${outcome}`, when + 1000, data, { sid: reservation.sid, type: 'reservation' });
    if (status === 'completed' || status === 'wrapping') addEvent('reservation.wrapup', when + 2000, data, { sid: reservation.sid, type: 'reservation' });
    if (status === 'completed') addEvent('reservation.completed', when + 3000, data, { sid: reservation.sid, type: 'reservation' });
    return reservation;
  }
  for (const h of options.handled || []) addHandled(h);
  let port = 0;

  const channelSid = (name) => 'TC' + hex32(cfg.taskChannels.indexOf(name) + 1);
  const expectedAuth = 'Basic ' + Buffer.from(`${cfg.accountSid}:${cfg.authToken}`).toString('base64');

  function baseUrl(req) {
    const host = req.headers['x-fake-twilio-host'];
    return host ? `https://${host}` : `http://${cfg.host}:${port}`;
  }

  function takeFailure(route, query) {
    const matches = (f) => !f.match || Object.entries(f.match).every(([k, v]) => firstOf(query[k]) === v);
    const i = failures.findIndex((f) => (f.route === route || f.route === '*') && f.times > 0 && matches(f));
    if (i < 0) return null;
    const f = failures[i];
    f.times -= 1;
    return f;
  }

  function taskJson(task, base, { withAttributes }) {
    const url = `${base}/v1/Workspaces/${cfg.workspaceSid}/Tasks/${task.sid}`;
    return {
      account_sid: cfg.accountSid,
      age: Math.max(0, Math.floor((Date.now() - task.createdMs) / 1000)),
      assignment_status: task.assignment_status,
      // ListTask returns attributes as null ("only displayed in FETCH", per the spec's description).
      attributes: withAttributes ? task.attributes : null,
      addons: '{}',
      date_created: twilioDate(task.createdMs),
      date_updated: twilioDate(task.updatedMs),
      task_queue_entered_date: twilioDate(task.createdMs),
      priority: task.priority,
      reason: task.reason,
      sid: task.sid,
      task_queue_sid: cfg.taskQueueSid,
      task_queue_friendly_name: 'MOS scores (no agents)',
      task_channel_sid: channelSid(task.task_channel_unique_name),
      task_channel_unique_name: task.task_channel_unique_name,
      timeout: task.timeout,
      workflow_sid: task.workflow_sid,
      workflow_friendly_name: 'MOS scores',
      workspace_sid: cfg.workspaceSid,
      url,
      links: {
        task_queue: `${base}/v1/Workspaces/${cfg.workspaceSid}/TaskQueues/${cfg.taskQueueSid}`,
        workflow: `${base}/v1/Workspaces/${cfg.workspaceSid}/Workflows/${task.workflow_sid}`,
        workspace: `${base}/v1/Workspaces/${cfg.workspaceSid}`,
        reservations: `${url}/Reservations`,
      },
      virtual_start_time: twilioDate(task.createdMs),
      ignore_capacity: false,
      routing_target: null,
    };
  }

  function pageMeta(base, pathName, query, page, pageSize, offset, total, key) {
    const keep = { ...query };
    delete keep.Page;
    delete keep.PageToken;
    keep.PageSize = String(pageSize);
    const link = (p, off) => {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(keep)) [].concat(v).forEach((x) => q.append(k, x));
      q.set('Page', String(p));
      if (off !== undefined) q.set('PageToken', `PT${off}`);
      return `${base}${pathName}?${q}`;
    };
    return {
      page,
      page_size: pageSize,
      first_page_url: link(0),
      previous_page_url: page > 0 ? link(page - 1, Math.max(0, offset - pageSize)) : null,
      url: link(page, page > 0 ? offset : undefined),
      next_page_url: offset + pageSize < total ? link(page + 1, offset + pageSize) : null,
      key,
    };
  }

  function paging(query) {
    const rawSize = firstOf(query.PageSize);
    const requested = rawSize === undefined ? 50 : Number(rawSize);
    if (!Number.isInteger(requested) || requested < 1 || requested > 1000) {
      return { error: [400, 20001, `Invalid PageSize: ${rawSize}`] };
    }
    const pageSize = Math.min(requested, cfg.maxPageSize);
    const page = query.Page === undefined ? 0 : Number(firstOf(query.Page));
    if (!Number.isInteger(page) || page < 0) return { error: [400, 20001, `Invalid Page: ${firstOf(query.Page)}`] };
    const token = firstOf(query.PageToken);
    let offset = page * pageSize;
    if (token !== undefined) {
      const m = /^PT(\d+)$/.exec(token);
      if (!m) return { error: [400, 20001, `Invalid PageToken: ${token}`] };
      offset = Number(m[1]);
    }
    return { pageSize, page, offset };
  }

  /** @returns {string} route name for a method + path */
  function classify(method, p) {
    if (/^\/v1\/Workspaces\/[^/]+\/Tasks\/[^/]+\/Reservations$/.test(p)) return method === 'GET' ? 'listTaskReservations' : 'unknown';
    if (/^\/v1\/Workspaces\/[^/]+\/Events$/.test(p)) return method === 'GET' ? 'listEvents' : 'unknown';
    if (/^\/v1\/Services\/[^/]+$/.test(p)) return method === 'GET' ? 'fetchSyncService' : 'unknown';
    if (/^\/v1\/Services\/[^/]+\/Maps$/.test(p)) return method === 'POST' ? 'createSyncMap' : 'unknown';
    if (/^\/v1\/Services\/[^/]+\/Maps\/[^/]+$/.test(p)) return method === 'GET' ? 'fetchSyncMap' : 'unknown';
    if (/^\/v1\/Services\/[^/]+\/Maps\/[^/]+\/Items$/.test(p)) return method === 'POST' ? 'createSyncMapItem' : 'unknown';
    if (/^\/v1\/Services\/[^/]+\/Maps\/[^/]+\/Items\/[^/]+$/.test(p)) return { GET: 'fetchSyncMapItem', POST: 'updateSyncMapItem', DELETE: 'deleteSyncMapItem' }[method] || 'unknown';
    if (method === 'POST' && /^\/v1\/Accounts\/[^/]+\/Tokens\/validate$/.test(p)) return 'validateToken';
    if (method === 'GET' && /^\/v1\/Voice\/[^/]+\/Metrics$/.test(p)) return 'metrics';
    if (/^\/v1\/Workspaces\/[^/]+\/Tasks$/.test(p)) return method === 'POST' ? 'createTask' : method === 'GET' ? 'listTasks' : 'unknown';
    if (/^\/v1\/Workspaces\/[^/]+\/Tasks\/[^/]+$/.test(p)) return method === 'POST' ? 'updateTask' : method === 'GET' ? 'fetchTask' : 'unknown';
    return 'unknown';
  }

  /** @returns {[number, object]} status and body */
  function route(req, name, url, query, body) {
    const p = url.pathname;
    let m;
    if (name === 'validateToken') {
      m = /^\/v1\/Accounts\/([^/]+)\/Tokens\/validate$/.exec(p);
      if (req.headers.authorization !== expectedAuth || m[1] !== cfg.accountSid) return [401, errorBody(401, 20003, 'Authenticate')];
      const token = body && typeof body.token === 'string' ? body.token : '';
      const who = tokens.get(token);
      if (who) {
        return [200, {
          valid: true,
          code: 0,
          message: null,
          expiration: twilioDate(Date.now() + 3600 * 1000),
          realm_user_id: 'US' + hex32(7),
          identity: who.identity,
          roles: who.roles,
          worker_sid: who.workerSid,
        }];
      }
      // What the validator reads is `valid` and `message`.
      return [401, { valid: false, code: 20101, message: 'Invalid Access Token', more_info: 'https://www.twilio.com/docs/errors/20101', status: 401 }];
    }

    if (name === 'unknown') return [404, errorBody(404, 20404, `The requested resource ${p} was not found`)];
    if (req.headers.authorization !== expectedAuth) return [401, errorBody(401, 20003, 'Authenticate')];
    if (name.startsWith('listTaskReservations') || name === 'listEvents') return taskRouterExtra(req, name, url, query);
    if (/Sync/.test(name)) return syncRoute(req, name, url, body);
    m = /^\/v1\/(?:Voice|Workspaces)\/([^/]+)(?:\/Metrics|\/Tasks)(?:\/([^/]+))?$/.exec(p);
    if (req.headers.authorization !== expectedAuth) return [401, errorBody(401, 20003, 'Authenticate')];
    const base = baseUrl(req);

    if (name === 'metrics') {
      const callSid = m[1];
      if (!/^CA[0-9a-fA-F]{32}$/.test(callSid)) return [400, errorBody(400, 20001, `Invalid CallSid: ${callSid}`)];
      let items = metricsByCall[callSid];
      if (items === undefined) {
        if (cfg.unknownCall === 'empty') items = [];
        else return [404, errorBody(404, 20404, `The requested resource /v1/Voice/${callSid}/Metrics was not found`)];
      }
      const edge = firstOf(query.Edge);
      const direction = firstOf(query.Direction);
      if (edge !== undefined && !['unknown_edge', 'carrier_edge', 'sip_edge', 'sdk_edge', 'client_edge'].includes(edge)) return [400, errorBody(400, 20001, `Invalid Edge: ${edge}`)];
      if (edge !== undefined && !cfg.ignoreEdgeFilter) items = items.filter((it) => it.edge === edge);
      if (direction !== undefined) items = items.filter((it) => it.direction === direction);
      const pg = paging(query);
      if (pg.error) return [pg.error[0], errorBody(...pg.error)];
      const slice = items.slice(pg.offset, pg.offset + pg.pageSize);
      return [200, { metrics: slice, meta: pageMeta(base, p, query, pg.page, pg.pageSize, pg.offset, items.length, 'metrics') }];
    }

    if (m[1] !== cfg.workspaceSid) return [404, errorBody(404, 20404, `The requested resource /v1/Workspaces/${m[1]} was not found`)];

    if (name === 'createTask') {
      const attributes = body.Attributes === undefined ? '{}' : body.Attributes;
      let parsed;
      try {
        parsed = JSON.parse(attributes);
      } catch {
        return [400, errorBody(400, 20001, 'Attributes must be a valid JSON string')];
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return [400, errorBody(400, 20001, 'Attributes must be a JSON object')];
      if (Buffer.byteLength(attributes, 'utf8') > 16384) return [400, errorBody(400, 20001, 'Attributes exceed the 16 KB limit')];
      const channel = body.TaskChannel === undefined ? 'default' : body.TaskChannel;
      const byName = cfg.taskChannels.includes(channel) ? channel : cfg.taskChannels.find((c) => channelSid(c) === channel);
      if (!byName) return [400, errorBody(400, 20001, `TaskChannel ${channel} not found`)];
      if (body.WorkflowSid !== undefined && body.WorkflowSid !== cfg.workflowSid) return [400, errorBody(400, 20001, `Workflow ${body.WorkflowSid} not found`)];
      taskCounter += 1;
      const now = Date.now();
      const task = {
        sid: 'WT' + hex32(0xf00d0000 + taskCounter),
        attributes,
        parsedAttributes: parsed,
        assignment_status: 'pending',
        priority: body.Priority === undefined ? 0 : Number(body.Priority),
        timeout: body.Timeout === undefined ? 86400 : Number(body.Timeout),
        reason: null,
        task_channel_unique_name: byName,
        workflow_sid: cfg.workflowSid,
        createdMs: now,
        updatedMs: now,
        version: 0,
      };
      tasks.set(task.sid, task);
      return [201, taskJson(task, base, { withAttributes: true }), etagOf(task)];
    }

    if (name === 'listTasks') {
      let list = [...tasks.values()];
      const expr = firstOf(query.EvaluateTaskAttributes);
      if (expr !== undefined) {
        let test;
        try {
          test = compileExpression(expr);
        } catch (err) {
          return [400, errorBody(400, 20001, `Invalid EvaluateTaskAttributes expression: ${err.message}`)];
        }
        list = list.filter((t) => test(t.parsedAttributes));
      }
      if (query.AssignmentStatus !== undefined) {
        const wanted = new Set([].concat(query.AssignmentStatus).flatMap((s) => s.split(',')));
        list = list.filter((t) => wanted.has(t.assignment_status));
      }
      if (query.WorkflowSid !== undefined) list = list.filter((t) => t.workflow_sid === firstOf(query.WorkflowSid));
      list.sort((a, b) => a.createdMs - b.createdMs);
      const pg = paging(query);
      if (pg.error) return [pg.error[0], errorBody(...pg.error)];
      const slice = list.slice(pg.offset, pg.offset + pg.pageSize).map((t) => taskJson(t, base, { withAttributes: false }));
      return [200, { tasks: slice, meta: pageMeta(base, p, query, pg.page, pg.pageSize, pg.offset, list.length, 'tasks') }];
    }

    const task = tasks.get(m[2]);
    if (!task) return [404, errorBody(404, 20404, `The requested resource /v1/Workspaces/${m[1]}/Tasks/${m[2]} was not found`)];

    if (name === 'fetchTask') return [200, taskJson(task, base, { withAttributes: true }), etagOf(task)];

    // updateTask
    const ifMatch = ifMatchFailure(req, task);
    if (ifMatch) return ifMatch;
    const status = body.AssignmentStatus;
    if (status !== undefined) {
      const from = task.assignment_status;
      const allowed = (status === 'canceled' && (from === 'pending' || from === 'reserved')) || (status === 'completed' && (from === 'assigned' || from === 'wrapping')) || (status === 'wrapping' && from === 'assigned');
      if (!allowed) return [400, errorBody(400, 20001, `Task ${task.sid} cannot move from ${from} to ${status}`)];
      if ((status === 'canceled' || status === 'completed') && !body.Reason) return [400, errorBody(400, 20001, 'Reason is required when canceling or completing a Task')];
      task.assignment_status = status;
    }
    if (body.Reason !== undefined) task.reason = body.Reason;
    if (body.Attributes !== undefined) {
      try {
        task.parsedAttributes = JSON.parse(body.Attributes);
        task.attributes = body.Attributes;
      } catch {
        return [400, errorBody(400, 20001, 'Attributes must be a valid JSON string')];
      }
    }
    task.updatedMs = Date.now();
    task.version += 1;
    return [200, taskJson(task, base, { withAttributes: true }), etagOf(task)];
  }

  function reservationJson(r, base) {
    const url = `${base}/v1/Workspaces/${cfg.workspaceSid}/Tasks/${r.task_sid}/Reservations/${r.sid}`;
    return {
      account_sid: cfg.accountSid,
      date_created: twilioDate(r.createdMs),
      date_updated: twilioDate(r.createdMs),
      reservation_status: r.reservation_status,
      sid: r.sid,
      task_sid: r.task_sid,
      worker_name: `worker ${r.worker_sid.slice(-4)}`,
      worker_sid: r.worker_sid,
      workspace_sid: cfg.workspaceSid,
      url,
      links: { task: `${base}/v1/Workspaces/${cfg.workspaceSid}/Tasks/${r.task_sid}`, worker: `${base}/v1/Workspaces/${cfg.workspaceSid}/Workers/${r.worker_sid}`, workspace: `${base}/v1/Workspaces/${cfg.workspaceSid}` },
    };
  }

  function eventJson(e, base) {
    return {
      account_sid: cfg.accountSid,
      actor_sid: e.event_data.worker_sid,
      actor_type: 'worker',
      actor_url: `${base}/v1/Workspaces/${cfg.workspaceSid}/Workers/${e.event_data.worker_sid}`,
      description: e.description,
      event_data: e.event_data,
      event_date: twilioDate(e.event_date_ms),
      event_date_ms: e.event_date_ms,
      event_type: e.event_type,
      resource_sid: e.resource_sid,
      resource_type: e.resource_type,
      resource_url: `${base}/v1/Workspaces/${cfg.workspaceSid}/Tasks/${e.event_data.task_sid}/Reservations/${e.resource_sid}`,
      sid: e.sid,
      source: 'twilio',
      source_ip_address: '127.0.0.1',
      url: `${base}/v1/Workspaces/${cfg.workspaceSid}/Events/${e.sid}`,
      workspace_sid: cfg.workspaceSid,
    };
  }

  /** ListTaskReservation and ListEvent. */
  function taskRouterExtra(req, name, url, query) {
    const p = url.pathname;
    const base = baseUrl(req);
    const ws = /^\/v1\/Workspaces\/([^/]+)/.exec(p)[1];
    if (ws !== cfg.workspaceSid) return [404, errorBody(404, 20404, `The requested resource /v1/Workspaces/${ws} was not found`)];
    const pg = paging(query);
    if (pg.error) return [pg.error[0], errorBody(...pg.error)];
    if (name === 'listTaskReservations') {
      const taskSid = /\/Tasks\/([^/]+)\//.exec(p)[1];
      // A task made through the REST API has the reservations seeded for it, if any.
      const live = tasks.get(taskSid) ? { reservations: [], ...handled.get(taskSid), live: true } : handled.get(taskSid);
      if (!live || live.live === false) return [404, errorBody(404, 20404, `The requested resource /v1/Workspaces/${ws}/Tasks/${taskSid} was not found`)];
      let list = live.reservations;
      if (query.WorkerSid !== undefined) list = list.filter((r) => r.worker_sid === firstOf(query.WorkerSid));
      if (query.ReservationStatus !== undefined) list = list.filter((r) => r.reservation_status === firstOf(query.ReservationStatus));
      const slice = list.slice(pg.offset, pg.offset + pg.pageSize).map((r) => reservationJson(r, base));
      return [200, { reservations: slice, meta: pageMeta(base, p, query, pg.page, pg.pageSize, pg.offset, list.length, 'reservations') }];
    }
    // listEvents: Minutes (default 15) or StartDate/EndDate bound the window; TaskRouter keeps 30 days.
    const now = Date.now();
    let from = now - 15 * 60000;
    let to = now;
    const minutes = firstOf(query.Minutes);
    if (minutes !== undefined) {
      if (!/^\d+$/.test(minutes)) return [400, errorBody(400, 20001, `Invalid Minutes: ${minutes}`)];
      from = now - Number(minutes) * 60000;
    }
    if (query.StartDate !== undefined) {
      from = Date.parse(firstOf(query.StartDate));
      if (Number.isNaN(from)) return [400, errorBody(400, 20001, 'Invalid StartDate')];
    }
    if (query.EndDate !== undefined) {
      to = Date.parse(firstOf(query.EndDate));
      if (Number.isNaN(to)) return [400, errorBody(400, 20001, 'Invalid EndDate')];
    }
    from = Math.max(from, now - EVENT_RETENTION_MS);
    const eq = (k, v) => v === undefined || k === firstOf(v);
    const list = events.filter((e) => e.event_date_ms >= from && e.event_date_ms <= to
      && eq(e.event_data.task_sid, query.TaskSid) && eq(e.event_data.worker_sid, query.WorkerSid)
      && eq(e.event_type, query.EventType) && eq(e.event_data.reservation_sid, query.ReservationSid));
    list.sort((a, b) => b.event_date_ms - a.event_date_ms);
    const slice = list.slice(pg.offset, pg.offset + pg.pageSize).map((e) => eventJson(e, base));
    return [200, { events: slice, meta: pageMeta(base, p, query, pg.page, pg.pageSize, pg.offset, list.length, 'events') }];
  }

  function syncMapJson(m, base) {
    const url = `${base}/v1/Services/${cfg.syncServiceSid}/Maps/${m.sid}`;
    return {
      sid: m.sid, unique_name: m.unique_name, account_sid: cfg.accountSid, service_sid: cfg.syncServiceSid, url,
      links: { items: `${url}/Items`, permissions: `${url}/Permissions` },
      revision: String(m.revision), date_expires: null, date_created: twilioDate(m.createdMs), date_updated: twilioDate(m.updatedMs), created_by: 'system',
    };
  }

  function syncItemJson(m, it, base) {
    return {
      key: it.key, account_sid: cfg.accountSid, service_sid: cfg.syncServiceSid, map_sid: m.sid,
      url: `${base}/v1/Services/${cfg.syncServiceSid}/Maps/${m.sid}/Items/${encodeURIComponent(it.key)}`,
      revision: String(it.revision), data: it.data, date_expires: it.expiresMs ? twilioDate(it.expiresMs) : null,
      date_created: twilioDate(it.createdMs), date_updated: twilioDate(it.updatedMs), created_by: 'system',
    };
  }

  /** TTL in seconds from ItemTtl (or its alias Ttl): undefined = keep, 0 = never expires. */
  function ttlOf(body) {
    const raw = body.ItemTtl !== undefined ? body.ItemTtl : body.Ttl;
    if (raw === undefined) return { keep: true };
    if (!/^\d+$/.test(String(raw)) || Number(raw) > SYNC_MAX_TTL_S) return { error: [400, 54011, `Invalid TTL: ${raw}`] };
    return { ttl: Number(raw) };
  }

  function parseData(raw) {
    if (raw === undefined) return { none: true };
    let data;
    try {
      data = JSON.parse(raw);
    } catch {
      return { error: [400, 54006, 'Data must be a JSON object'] };
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return { error: [400, 54006, 'Data must be a JSON object'] };
    if (Buffer.byteLength(raw, 'utf8') > 16384) return { error: [413, 54006, 'Data exceeds 16 KiB'] };
    return { data };
  }

  /** The Sync v1 Maps / Map Items routes, for the one service (its IS… SID or the alias "default"). */
  function syncRoute(req, name, url, body) {
    const base = baseUrl(req);
    const parts = url.pathname.split('/').map(decodeURIComponent); // ['', 'v1', 'Services', S, 'Maps', M?, 'Items'?, Key?]
    const [, , , service, , mapId, , key] = parts;
    if (service !== cfg.syncServiceSid && service !== 'default') return [404, errorBody(404, 20404, `The requested resource /v1/Services/${service} was not found`)];
    const now = Date.now();
    if (name === 'fetchSyncService') {
      const url = `${base}/v1/Services/${cfg.syncServiceSid}`;
      return [200, {
        sid: cfg.syncServiceSid, unique_name: 'default', account_sid: cfg.accountSid, friendly_name: 'Default Service',
        date_created: twilioDate(startedMs), date_updated: twilioDate(startedMs), url, webhook_url: null, webhooks_from_rest_enabled: false,
        reachability_webhooks_enabled: false, acl_enabled: false, reachability_debouncing_enabled: false, reachability_debouncing_window: 5000,
        links: { documents: `${url}/Documents`, lists: `${url}/Lists`, maps: `${url}/Maps`, streams: `${url}/Streams` },
      }];
    }
    if (name === 'createSyncMap') {
      const unique = body.UniqueName;
      if (unique !== undefined && sync.maps.has(unique)) return [409, errorBody(409, 54301, `Unique name already exists: ${unique}`)];
      const m = { sid: 'MP' + nextHex(), unique_name: unique === undefined ? null : unique, revision: 0, createdMs: now, updatedMs: now, items: new Map() };
      sync.maps.set(unique === undefined ? m.sid : unique, m);
      return [201, syncMapJson(m, base)];
    }
    const m = sync.maps.get(mapId) || [...sync.maps.values()].find((x) => x.sid === mapId);
    if (!m) return [404, errorBody(404, 54200, `Map not found: ${mapId}`)];
    if (name === 'fetchSyncMap') return [200, syncMapJson(m, base)];
    for (const [k, it] of m.items) if (it.expiresMs && it.expiresMs <= now) m.items.delete(k); // TTL
    if (name === 'createSyncMapItem') {
      const k = body.Key;
      if (typeof k !== 'string' || k.length < 1 || k.length > 320) return [400, errorBody(400, 54209, 'Invalid Map Item key')];
      const d = parseData(body.Data);
      if (d.error || d.none) return [d.none ? 400 : d.error[0], d.none ? errorBody(400, 20001, 'Missing required parameter Data') : errorBody(...d.error)];
      const t = ttlOf(body);
      if (t.error) return [t.error[0], errorBody(...t.error)];
      if (m.items.has(k)) return [409, errorBody(409, 54208, 'Map Item already exists')];
      const it = { key: k, data: d.data, revision: 0, createdMs: now, updatedMs: now, expiresMs: t.ttl ? now + t.ttl * 1000 : null };
      m.items.set(k, it);
      return [201, syncItemJson(m, it, base)];
    }
    const it = m.items.get(key);
    if (!it) return [404, errorBody(404, 54201, 'Map Item not found')];
    const ifMatch = req.headers['if-match'];
    if (name === 'fetchSyncMapItem') return [200, syncItemJson(m, it, base)];
    if (ifMatch !== undefined && ifMatch !== String(it.revision)) return [412, errorBody(412, 54205, 'The revision of the Map Item does not match the expected revision')];
    if (name === 'deleteSyncMapItem') {
      m.items.delete(key);
      return [204, undefined];
    }
    // updateSyncMapItem
    const d = parseData(body.Data);
    if (d.error) return [d.error[0], errorBody(...d.error)];
    const t = ttlOf(body);
    if (t.error) return [t.error[0], errorBody(...t.error)];
    if (!d.none) it.data = d.data;
    if (!t.keep) it.expiresMs = t.ttl ? now + t.ttl * 1000 : null;
    it.revision += 1;
    it.updatedMs = now;
    return [200, syncItemJson(m, it, base)];
  }

  function control(req, url, body) {
    const p = url.pathname;
    let m;
    if (p === '/__fake/requests' && req.method === 'GET') return [200, requests.filter((r) => r.route !== 'control')];
    if (p === '/__fake/tasks' && req.method === 'GET') return [200, [...tasks.values()].map((t) => taskJson(t, baseUrl(req), { withAttributes: true }))];
    if (p === '/__fake/handled' && req.method === 'POST') {
      try {
        return [200, { ok: true, reservation: addHandled(body) }];
      } catch (err) {
        return [400, { error: err.message }];
      }
    }
    if (p === '/__fake/tokens' && req.method === 'POST') {
      if (typeof body.token !== 'string' || !/^WK[0-9a-f]{32}$/.test(body.workerSid)) return [400, { error: 'body: { token, workerSid, roles? }' }];
      tokens.set(body.token, { roles: ['agent'], identity: `agent_${body.workerSid}`, ...body, token: undefined });
      return [200, { ok: true }];
    }
    if ((m = /^\/__fake\/expire-task\/(WT[0-9a-f]{32})$/.exec(p)) && req.method === 'POST') {
      const t = handled.get(m[1]);
      if (!t) return [404, { error: `no seeded task ${m[1]}` }];
      t.live = false;
      return [200, { ok: true }];
    }
    if (p === '/__fake/reset-requests' && req.method === 'POST') {
      requests.length = 0;
      return [200, { ok: true }];
    }
    if (p === '/__fake/failures' && req.method === 'POST') {
      failures.push({ times: 1, ...body, times: body.times === null ? Infinity : body.times || 1 });
      return [200, { ok: true }];
    }
    if ((m = /^\/__fake\/metrics\/(CA[0-9a-fA-F]{32})$/.exec(p)) && req.method === 'POST') {
      if (!Array.isArray(body)) return [400, { error: 'body must be a JSON array of metric items' }];
      metricsByCall[m[1]] = body;
      return [200, { ok: true, items: body.length }];
    }
    return [404, { error: `no control route ${req.method} ${p}` }];
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url, 'http://fake');
      const query = parseQuery(url.searchParams);
      const raw = Buffer.concat(chunks).toString('utf8');
      let body = {};
      const type = String(req.headers['content-type'] || '');
      try {
        if (raw && type.includes('application/json')) body = JSON.parse(raw);
        else if (raw) body = parseQuery(new URLSearchParams(raw));
      } catch {
        body = { __unparsable: raw };
      }
      const entry = {
        method: req.method,
        host: req.headers['x-fake-twilio-host'] || cfg.host,
        path: url.pathname,
        route: 'unknown',
        query,
        body,
        status: 0,
        response: undefined,
        at: Date.now(),
      };
      let status;
      let payload;
      let extraHeaders = {};
      if (url.pathname.startsWith('/__fake/')) {
        [status, payload] = control(req, url, body);
        entry.route = 'control';
      } else {
        entry.route = classify(req.method, url.pathname);
        const failure = ROUTES.includes(entry.route) ? takeFailure(entry.route, query) : null;
        if (cfg.latencyMs) await delay(cfg.latencyMs);
        if (failure && failure.delayMs) await delay(failure.delayMs);
        if (!(failure && failure.status && !failure.commit)) [status, payload, extraHeaders] = route(req, entry.route, url, query, body);
        // Without `commit` the operation never happened; with it, it did and the answer is lost.
        if (failure && failure.status) {
          status = failure.status;
          payload = errorBody(failure.status, failure.code, failure.message || 'Fake failure');
        }
      }
      entry.status = status;
      entry.response = payload;
      if (entry.route !== 'control') requests.push(entry);
      if (payload === undefined) {
        res.writeHead(status);
        res.end();
        return;
      }
      const text = JSON.stringify(payload);
      res.writeHead(status, { ...(status < 300 ? extraHeaders : {}), 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    });
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, resolve);
  });
  port = server.address().port;
  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  return {
    url: `http://${cfg.host}:${port}`,
    port,
    requests,
    tasks,
    handled,
    sync,
    metricsByCall,
    addHandled,
    /** TaskRouter deletes a task 5 minutes after it ends: its reservations go, its Events stay 30 days. */
    expireTask(taskSid) {
      const t = handled.get(taskSid);
      if (t) t.live = false;
      return Boolean(t);
    },
    config: {
      accountSid: cfg.accountSid,
      authToken: cfg.authToken,
      workspaceSid: cfg.workspaceSid,
      workflowSid: cfg.workflowSid,
      validTokens: [...cfg.validTokens],
      workerSid: DEFAULTS.workerSid,
      syncServiceSid: cfg.syncServiceSid,
    },
    addFailure(rule) {
      failures.push({ times: 1, ...rule });
    },
    /** Simulates TaskRouter deleting a task (it does so 5 minutes after cancel). */
    deleteTask(sid) {
      return tasks.delete(sid);
    },
    resetRequests() {
      requests.length = 0;
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
    },
  };
}

/** Reads every fixtures/metrics/*.json (except expected.json) into { CallSid: items }. */
function loadMetricsDir(dir) {
  const out = {};
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith('.json') || name === 'expected.json') continue;
    const items = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
    if (!Array.isArray(items)) continue;
    for (const it of items) (out[it.call_sid] = out[it.call_sid] || []).push(it);
  }
  return out;
}

async function main(argv) {
  const arg = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const metricsDir = arg('--metrics-dir', path.resolve(__dirname, '../../../fixtures/metrics'));
  const metricsByCall = fs.existsSync(metricsDir) ? loadMetricsDir(metricsDir) : {};
  const token = arg('--token');
  const fake = await startFakeTwilio({
    port: Number(arg('--port', '0')),
    metricsByCall,
    validTokens: token ? [token] : undefined,
    unknownCall: argv.includes('--unknown-call-empty') ? 'empty' : 404,
  });
  process.stdout.write(JSON.stringify({ url: fake.url, port: fake.port, ...fake.config, calls: Object.keys(metricsByCall) }) + '\n');
  const stop = () => fake.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

// `node --test test/` also runs every .js under test/ (this one included) as a test file, with
// NODE_TEST_CONTEXT set and no arguments; the CLI stays off then (pass an argument to force it).
if (require.main === module && (process.argv.includes('--port') || !process.env.NODE_TEST_CONTEXT)) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { startFakeTwilio, faults, DEFAULTS, makeToken, compileExpression };
