/*
 * A stand-in for the Flex UI 2.x host page, for the e2e test, the demo and
 * the benchmark. It plays what a Flex plugin sees of Flex and nothing more:
 *
 *   window.Twilio.Flex            { Plugins.init, Manager.getInstance(), ... }
 *   manager.events                EventEmitter (addListener/removeListener/on/off/emit)
 *   manager.user.token            the Flex token (refreshable: FlexHost.setToken)
 *   manager.store.getState().flex.session.ssoTokenPayload.token
 *   manager.serviceConfiguration  ui_attributes.custom_data.mos_score
 *   manager.voiceClient           a fake Twilio.Device: 'incoming' -> Call ('sample' events)
 *   ITask                         taskSid (WT), sid (WR: the reservation), attributes,
 *                                 conference.participants, setAttributes() -> Promise
 *
 * Plugin bundles are loaded the way Flex loads them: a <script> tag per
 * bundle URL, whose code calls Twilio.Flex.Plugins.init(PluginClass); Flex
 * then constructs the class and calls plugin.init(flex, manager).
 *
 * Everything observable is recorded on one timeline (FlexHost.timeline): the
 * events emitted, setAttributes calls, every fetch (through a fetch wrapper;
 * the Token field is redacted), console lines, page errors and unhandled
 * rejections. The page renders it live, with the attributes written.
 *
 * Config comes from the `config` query parameter (JSON):
 *   { token, mosScore: {...custom_data.mos_score} | null, plugins: [url...],
 *     title, render: true|false, quiet: true|false }
 */
(function () {
  'use strict';

  const T0 = performance.now();
  const params = new URLSearchParams(location.search);
  const config = Object.assign(
    { token: 'flex-token-demo', mosScore: null, plugins: ['/plugins/plugin-mos-score.js'], render: true, title: 'Flex' },
    JSON.parse(params.get('config') || '{}'),
  );

  // ---------------------------------------------------------------- timeline
  const timeline = [];
  const listeners = new Set();
  const errors = [];

  function record(kind, text, data) {
    const entry = {
      seq: timeline.length,
      t: Math.round((performance.now() - T0) * 10) / 10,
      at: new Date().toISOString(),
      kind,
      text: String(text),
      data: data === undefined ? null : data,
    };
    timeline.push(entry);
    listeners.forEach((fn) => {
      try {
        fn(entry);
      } catch (e) {
        /* a renderer bug must not break the host */
      }
    });
    return entry;
  }

  const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

  // ---------------------------------------------------------------- console
  const rawConsole = {};
  ['debug', 'log', 'info', 'warn', 'error'].forEach((level) => {
    rawConsole[level] = console[level].bind(console);
    console[level] = function (...args) {
      const text = args
        .map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : typeof a === 'object' ? safeJson(a) : String(a)))
        .join(' ');
      record('console', text, { level });
      rawConsole[level](...args);
    };
  });
  function safeJson(v) {
    try {
      return JSON.stringify(v);
    } catch (e) {
      return String(v);
    }
  }

  window.addEventListener('error', (ev) => {
    const msg = ev.error ? `${ev.error.name}: ${ev.error.message}` : ev.message;
    errors.push(msg);
    record('page-error', msg);
  });
  window.addEventListener('unhandledrejection', (ev) => {
    const r = ev.reason;
    const msg = r instanceof Error ? `${r.name}: ${r.message}` : safeJson(r);
    errors.push(`unhandled rejection: ${msg}`);
    record('page-error', `unhandled rejection: ${msg}`);
  });

  // ---------------------------------------------------------------- fetch
  const rawFetch = window.fetch.bind(window);
  const fetches = [];
  function formFields(body) {
    if (body == null) return null;
    let text = body;
    if (body instanceof URLSearchParams) text = body.toString();
    if (typeof text !== 'string') return { '(body)': Object.prototype.toString.call(body) };
    const out = {};
    if (text.trim().startsWith('{')) {
      try {
        Object.assign(out, JSON.parse(text));
      } catch (e) {
        out['(body)'] = text;
      }
    } else {
      new URLSearchParams(text).forEach((v, k) => {
        out[k] = v;
      });
    }
    if ('Token' in out) out.Token = out.Token ? '•••' : '(empty)';
    return out;
  }
  window.fetch = async function (input, init) {
    // Normalise to a Request so bodies passed either way (init or Request) are seen.
    const req = new Request(input, init);
    let bodyText = null;
    try {
      bodyText = req.body === null ? null : await req.clone().text();
    } catch (e) {
      bodyText = null;
    }
    const rec = {
      method: req.method,
      url: req.url,
      path: new URL(req.url, location.href).pathname,
      contentType: req.headers.get('content-type'),
      fields: formFields(bodyText),
      status: null,
      response: null,
      error: null,
    };
    fetches.push(rec);
    record('fetch', `${req.method} ${rec.path}`, rec);
    try {
      const res = await rawFetch(req);
      rec.status = res.status;
      try {
        const text = await res.clone().text();
        try {
          rec.response = JSON.parse(text);
        } catch (e) {
          rec.response = text.slice(0, 500);
        }
      } catch (e) {
        rec.response = null;
      }
      record('response', `${res.status} ${rec.path}`, rec);
      return res;
    } catch (e) {
      rec.error = String(e && e.message ? e.message : e);
      record('response', `network error ${rec.path}: ${rec.error}`, rec);
      throw e;
    }
  };

  // ---------------------------------------------------------------- emitter
  class Emitter {
    constructor() {
      this.map = new Map();
    }
    addListener(name, fn) {
      if (!this.map.has(name)) this.map.set(name, []);
      this.map.get(name).push(fn);
      return this;
    }
    on(name, fn) {
      return this.addListener(name, fn);
    }
    removeListener(name, fn) {
      const list = this.map.get(name) || [];
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
      return this;
    }
    off(name, fn) {
      return this.removeListener(name, fn);
    }
    emit(name, ...args) {
      const list = (this.map.get(name) || []).slice();
      list.forEach((fn) => fn(...args));
      return list.length > 0;
    }
    listenerCount(name) {
      return (this.map.get(name) || []).length;
    }
  }

  // Counts listener changes on the timeline, so "registered" is observable.
  class RecordingEmitter extends Emitter {
    addListener(name, fn) {
      super.addListener(name, fn);
      record('listener', `listener added: ${name} (${this.listenerCount(name)})`, { name, count: this.listenerCount(name) });
      return this;
    }
    removeListener(name, fn) {
      super.removeListener(name, fn);
      record('listener', `listener removed: ${name} (${this.listenerCount(name)})`, { name, count: this.listenerCount(name) });
      return this;
    }
  }

  // ---------------------------------------------------------------- voice client
  class FakeCall extends Emitter {
    constructor(callSid, from) {
      super();
      this.parameters = { CallSid: callSid, From: from || '+15550100' };
      this.status = () => 'open';
    }
  }
  const voiceClient = new Emitter();

  // ---------------------------------------------------------------- manager
  const state = { token: config.token };
  const serviceConfiguration = {
    account_sid: 'AC0123456789abcdef0123456789abcdef',
    ui_attributes: { custom_data: config.mosScore ? { mos_score: config.mosScore } : {} },
  };
  const store = {
    getState: () => ({
      flex: {
        session: { ssoTokenPayload: { token: state.token } },
        config: { serviceConfiguration },
        worker: { worker: { sid: 'WK0123456789abcdef0123456789abcdef', attributes: {} } },
      },
    }),
    subscribe: () => () => {},
    dispatch: () => {},
  };
  const manager = {
    events: new RecordingEmitter(),
    user: { token: state.token, identity: 'agent.alice' },
    store,
    serviceConfiguration,
    voiceClient,
    workerClient: { sid: 'WK0123456789abcdef0123456789abcdef', name: 'agent.alice' },
  };

  // ---------------------------------------------------------------- tasks
  const tasks = new Map();

  /**
   * Turns a plain ITask JSON (fixtures/tasks shape) into an ITask with a
   * Promise-returning setAttributes that replaces the attributes, as Flex does.
   */
  function addTask(json, opts) {
    const o = Object.assign({ setAttributesFails: false, setAttributesDelayMs: 5 }, opts || {});
    const task = clone(json);
    task.status = task.status || 'assigned';
    task.setAttributes = function (attrs) {
      const copy = clone(attrs);
      record('setAttributes', `setAttributes on ${task.taskSid}`, { taskSid: task.taskSid, attributes: copy });
      return new Promise((resolve, reject) => {
        setTimeout(() => {
          if (o.setAttributesFails) {
            reject(new Error(`TaskRouter refused the update of ${task.taskSid}`));
            return;
          }
          task.attributes = copy;
          render();
          resolve(task);
        }, o.setAttributesDelayMs);
      });
    };
    tasks.set(task.taskSid, task);
    record('task', `task ${task.taskSid} (${task.taskChannelUniqueName}) assigned`, { taskSid: task.taskSid });
    return task;
  }

  function wrapup(taskSid) {
    const task = tasks.get(taskSid);
    if (!task) throw new Error(`no task ${taskSid}`);
    task.status = 'wrapping';
    task.taskStatus = 'wrapping';
    if (task.conference && Array.isArray(task.conference.participants)) {
      task.conference.participants.forEach((p) => {
        if (p.participantType === 'customer') p.status = 'left';
      });
    }
    record('emit', `taskWrapup ${task.taskSid}`, { taskSid: task.taskSid, listeners: manager.events.listenerCount('taskWrapup') });
    manager.events.emit('taskWrapup', task);
    return true;
  }

  /** Plays a Voice SDK call: 'incoming', then one 'sample' per MOS value. */
  function playCall(callSid, mosValues) {
    const call = new FakeCall(callSid);
    voiceClient.emit('incoming', call);
    (mosValues || []).forEach((mos, i) => {
      call.emit('sample', { mos, timestamp: Date.now() + i * 1000, jitter: 3, rtt: 80, packetsLostFraction: 0 });
    });
    record('call', `call ${callSid}: ${(mosValues || []).length} SDK samples`, { callSid, samples: (mosValues || []).length });
    return call;
  }

  function setToken(token) {
    state.token = token;
    manager.user.token = token;
    record('token', 'Flex token refreshed');
  }

  // ---------------------------------------------------------------- Flex + plugins
  const plugins = [];
  const pluginInits = [];
  const Flex = {
    Manager: { getInstance: () => manager },
    Plugins: {
      init(PluginClass) {
        const started = performance.now();
        const plugin = new PluginClass();
        plugins.push(plugin);
        record('plugin', `Plugins.init ${plugin.name || PluginClass.name}`, { name: plugin.name, version: plugin.version });
        const done = Promise.resolve()
          .then(() => plugin.init(Flex, manager))
          .then(() => {
            const ms = performance.now() - started;
            record('plugin', `${plugin.name} initialised in ${ms.toFixed(2)} ms`, { name: plugin.name, ms });
          })
          .catch((e) => {
            errors.push(`plugin init: ${e && e.message}`);
            record('page-error', `plugin ${plugin.name} init failed: ${e && e.message}`);
          });
        pluginInits.push(done);
      },
    },
    TaskHelper: {
      isCallTask: (t) => t.taskChannelUniqueName === 'voice',
      isChatBasedTask: (t) => t.taskChannelUniqueName !== 'voice',
    },
    VERSION: '2.17.1',
  };
  window.Twilio = window.Twilio || {};
  window.Twilio.Flex = Flex;

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.onload = () => resolve();
      s.onerror = () => reject(new Error(`could not load ${src}`));
      document.head.appendChild(s);
    });
  }

  async function loadPlugins(urls) {
    for (const url of urls) {
      record('load', `loading plugin bundle ${url}`);
      await loadScript(url);
    }
    // Like Flex, wait for every plugin's (possibly async) init.
    await Promise.all(pluginInits);
  }

  function waitFor(pred, timeoutMs) {
    const limit = timeoutMs || 10000;
    return new Promise((resolve, reject) => {
      const started = Date.now();
      (function poll() {
        let v;
        try {
          v = pred();
        } catch (e) {
          v = false;
        }
        if (v) return resolve(v);
        if (Date.now() - started > limit) return reject(new Error('FlexHost.waitFor timed out'));
        setTimeout(poll, 20);
      })();
    });
  }

  // ---------------------------------------------------------------- rendering
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

  function jsonHtml(value, highlight) {
    const text = JSON.stringify(value, null, 2) || '';
    return esc(text).replace(/^(\s*)&quot;([^&]+)&quot;:/gm, (m, sp, key) => {
      const hot = highlight && highlight.includes(key);
      return `${sp}<span class="k${hot ? ' hot' : ''}">&quot;${key}&quot;</span>:`;
    });
  }

  const ICON_VOICE =
    '<svg viewBox="0 0 24 24" width="22" height="22"><circle cx="12" cy="12" r="12" fill="#0263e0"/><path fill="#fff" d="M8.6 6.2l1.6-.4 1.3 3-1.1 1a7.6 7.6 0 0 0 3.8 3.8l1-1.1 3 1.3-.4 1.6c-.2.7-.8 1.1-1.5 1.1A10.5 10.5 0 0 1 7.5 7.7c0-.7.4-1.3 1.1-1.5z"/></svg>';
  const ICON_CHAT =
    '<svg viewBox="0 0 24 24" width="22" height="22"><circle cx="12" cy="12" r="12" fill="#8c5bd8"/><path fill="#fff" d="M6.5 7.5h11a1 1 0 0 1 1 1v6a1 1 0 0 1-1 1h-6l-3 2.5v-2.5h-2a1 1 0 0 1-1-1v-6a1 1 0 0 1 1-1z"/></svg>';

  const KIND_LABEL = {
    emit: 'EVENT',
    setAttributes: 'TASK',
    fetch: 'HTTP →',
    response: 'HTTP ←',
    console: 'LOG',
    'page-error': 'ERROR',
    listener: 'FLEX',
    plugin: 'PLUGIN',
    load: 'PLUGIN',
    task: 'TASK',
    call: 'CALL',
    token: 'TOKEN',
    note: 'NOTE',
  };

  let renderQueued = false;
  function render() {
    if (!config.render || renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      draw();
    });
  }
  listeners.add(render);

  function lastCreate() {
    for (let i = fetches.length - 1; i >= 0; i--) {
      if (fetches[i].path.endsWith('/create_mos_score_task')) return fetches[i];
    }
    return null;
  }
  function lastScore() {
    for (let i = fetches.length - 1; i >= 0; i--) {
      if (fetches[i].path.endsWith('/get_mos_score') && fetches[i].status === 200) return fetches[i];
    }
    return null;
  }

  function detail(e) {
    if (e.kind === 'fetch' && e.data && e.data.fields) {
      const f = Object.assign({}, e.data.fields);
      if (typeof f.Attributes === 'string') f.Attributes = `{…${f.Attributes.length} chars}`;
      const text = Object.keys(f)
        .map((k) => `${k}=${f[k]}`)
        .join('  ');
      return `<div class="detail">${esc(text)}</div>`;
    }
    if (e.kind === 'response' && e.data && e.data.response != null) {
      const r = typeof e.data.response === 'string' ? e.data.response : JSON.stringify(e.data.response);
      return `<div class="detail">${esc(r.length > 160 ? `${r.slice(0, 157)}…` : r)}</div>`;
    }
    return '';
  }

  let backendView = null;
  function backendHtml() {
    if (!backendView) return '';
    const rows = (backendView.rows || [])
      .map((r) => `<tr><td><code>${esc(r.method)}</code></td><td>${esc(r.what)}</td><td class="st ${r.status < 300 ? 'ok' : 'bad'}">${esc(r.status)}</td></tr>`)
      .join('');
    return `<h3>${esc(backendView.title || 'Twilio')}</h3><table class="backend">${rows}</table>${
      backendView.note ? `<p class="muted">${esc(backendView.note)}</p>` : ''
    }`;
  }

  function draw() {
    const root = document.getElementById('app');
    if (!root) return;
    const rows = timeline
      .filter((e) => !(config.quiet && e.kind === 'console' && !e.text.startsWith('[mos-score]')))
      .map((e) => {
        const level = e.data && e.data.level;
        const cls = e.kind === 'console' ? `row-console ${level || ''}` : `row-${e.kind}`;
        const status = e.kind === 'response' && e.data ? (e.data.status >= 200 && e.data.status < 300 ? 'ok' : 'bad') : '';
        return `<tr class="${esc(cls)} ${status}"><td class="t">+${(e.t / 1000).toFixed(3)}s</td><td><span class="badge ${esc(e.kind)} ${status}">${esc(
          KIND_LABEL[e.kind] || e.kind,
        )}</span></td><td class="txt">${esc(e.text)}${detail(e)}</td></tr>`;
      })
      .join('');

    const taskCards = Array.from(tasks.values())
      .map((t) => {
        const conv = (t.attributes && t.attributes.conversations) || {};
        const statusCls = t.status === 'wrapping' ? 'wrapping' : 'assigned';
        return `<div class="task-card ${esc(t.taskChannelUniqueName)}">
          <div class="task-head"><span class="chan">${t.taskChannelUniqueName === 'voice' ? ICON_VOICE : ICON_CHAT}</span>
            <div><div class="name">${esc((t.attributes && (t.attributes.name || t.attributes.from)) || t.taskSid)}</div>
            <div class="sub">${esc(t.queueName || 'Everyone')} · ${esc(t.taskChannelUniqueName)}</div></div>
            <span class="pill ${statusCls}">${esc(t.status)}</span></div>
          <div class="kv"><span>taskSid</span><code>${esc(t.taskSid)}</code></div>
          <div class="kv"><span>reservation</span><code>${esc(t.sid)}</code></div>
          <div class="kv"><span>conversation_id</span><code class="${conv.conversation_id ? 'good' : ''}">${esc(conv.conversation_id || '—')}</code></div>
          <h3>conversations</h3><pre>${jsonHtml(conv, ['conversation_id'])}</pre>
          <details><summary>all task attributes</summary><pre>${jsonHtml(t.attributes, ['conversation_id'])}</pre></details>
        </div>`;
      })
      .join('');

    const score = lastScore();
    const create = lastCreate();
    let mosCard = '<div class="mos empty">Waiting for wrap-up…</div>';
    if (score && score.response) {
      const s = score.response;
      const avg = Number(s.average);
      const grade = avg >= 4.0 ? 'great' : avg >= 3.5 ? 'fair' : 'poor';
      mosCard = `<div class="mos ${grade}"><div class="big">${avg.toFixed(2)}</div><div class="lbl">average MOS</div>
        <div class="facts"><div><b>${Number(s.minimum).toFixed(2)}</b><span>minimum</span></div>
        <div><b>${(Number(s.poorShare) * 100).toFixed(0)}%</b><span>samples &lt; 3.5</span></div>
        <div><b>${esc(s.samples)}</b><span>samples</span></div>
        <div><b>${esc(s.source)}</b><span>source</span></div></div></div>`;
    }
    let mosTask = '<p class="muted">No MOS task created yet.</p>';
    if (create && create.fields) {
      let attrs = create.fields.Attributes;
      try {
        attrs = JSON.parse(attrs);
      } catch (e) {
        /* shown raw */
      }
      const res = create.response || {};
      mosTask = `<div class="kv"><span>created</span><code class="${res.sid ? 'good' : 'bad'}">${esc(res.sid || create.error || create.status || 'pending')}${
        res.created === false ? ' (already existed)' : ''
      }</code></div>
        <div class="kv"><span>OriginalTaskSid</span><code>${esc(create.fields.OriginalTaskSid)}</code></div>
        <pre>${jsonHtml(attrs && attrs.conversations ? { conversations: attrs.conversations, mos_score: attrs.mos_score } : attrs, [
          'conversation_id',
          'conversation_attribute_5',
          'conversation_measure_5',
          'virtual',
          'channel',
        ])}</pre>`;
    }
    const errs = errors.length
      ? `<div class="errors">${errors.map((e) => `<div>⚠ ${esc(e)}</div>`).join('')}</div>`
      : '<div class="noerr">✓ no page errors, no unhandled rejections</div>';

    root.innerHTML = `
      <header><div class="logo">${esc(config.title)}</div><div class="hdr-sub">Agent Desktop · simulated Flex UI 2.x host · plugin-mos-score</div>
        <div class="agent">agent.alice <span class="dot"></span> Available</div></header>
      <main>
        <section class="col tasks"><h2>Tasks</h2>${taskCards || '<p class="muted">No tasks.</p>'}</section>
        <section class="col timeline"><h2>Timeline</h2><table>${rows}</table></section>
        <section class="col result"><h2>MOS → Flex Insights</h2>${mosCard}<h3>MOS task attributes</h3>${mosTask}${backendHtml()}${errs}</section>
      </main>`;
  }

  // ---------------------------------------------------------------- public API
  window.FlexHost = {
    config,
    manager,
    timeline,
    fetches,
    errors,
    tasks,
    plugins,
    addTask,
    wrapup,
    playCall,
    setToken,
    waitFor,
    record,
    onEntry: (fn) => listeners.add(fn),
    /** Shows what the backend saw (e.g. the fake Twilio's request log): { title, rows: [{method, what, status}], note }. */
    setBackendView: (view) => {
      backendView = view;
      render();
    },
    listenerCount: (name) => manager.events.listenerCount(name),
    loadPlugins,
    ready: null,
  };
  let resolveReady;
  window.FlexHost.ready = new Promise((r) => {
    resolveReady = r;
  });

  function boot() {
    render();
    loadPlugins(config.plugins || []).then(
      () => {
        record('note', `Flex ready: ${manager.events.listenerCount('taskWrapup')} taskWrapup listener(s)`);
        resolveReady(true);
      },
      (e) => {
        errors.push(String(e && e.message));
        record('page-error', String(e && e.message));
        resolveReady(false);
      },
    );
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
