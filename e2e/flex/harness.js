/* The e2e page: the REAL @twilio/flex-ui 2.17.1 (e2e/.build/flex/flex.js puts
 * window.Flex, window.Redux and window.VoiceSDK there), wired the way Flex
 * wires itself, with Twilio's cloud left out:
 *
 *   - a Redux store with Flex.FlexReducer and Flex.applyFlexMiddleware();
 *   - new Flex.Manager(config, store) (Manager.create would call Twilio);
 *   - the session token put into flex.session.ssoTokenPayload by the action
 *     Flex's own SessionState.handleTokenUpdated dispatches
 *     (FLEX_ACTION_TOKEN_UPDATED), so manager.user throws before it, as in Flex;
 *   - the real plugin loader: Flex.Plugins.storePluginDefinition([...]) with the
 *     definition shape Flex's loadPlugins builds ({phase: 3, ..., uuid, state:
 *     'NotStarted'}), Flex.Plugins.setup(Flex, manager), then a
 *     <script uuid=… src=…> tag. Flex's PluginManager keeps no plugin instance;
 *   - tasks: WORKER_INIT (the worker) and WORKER_ADD_RESERVATION (a reservation
 *     whose `task` is the TaskRouter SDK object) dispatched to the store, which
 *     makes real TaskRouterTask objects; conferences: real
 *     Flex.ConferenceParticipant objects (from raw TaskRouter participants,
 *     type "agent") in flex.conferences.states via CONFERENCE_MULTIPLE_UPDATE,
 *     the action Flex's ConferencesState dispatches;
 *   - a real @twilio/voice-sdk Device (never registered: no signalling) wrapped
 *     in the method-binding Proxy of FlexClientManager.generateVoiceClientProxy;
 *     live calls are real voice-sdk Call objects whose real StatsMonitor emits
 *     the samples (the WebRTC media handler is a stub: there is no media);
 *   - wrap-up through the real emitter: manager.events.emitTaskUpdated(task, 'wrapup').
 *
 * Only two things are set the way no public API does (Flex exports neither):
 *   - manager.voiceClient: Flex's getter returns the internal FlexModule.voiceClient;
 *     here an own getter on the manager returns the current proxy (replaceVoiceClient());
 *   - manager.serviceConfiguration: Flex's fetchConfiguration() stores the
 *     snake-cased account configuration in manager._serviceConfiguration; here
 *     the same field gets ui_attributes.custom_data from the page config.
 *
 * The page's configuration is the JSON in ?config= (kept across reloads):
 *   { token, workerSid, accountSid, mosScore (custom_data.mos_score), plugins: [{name, src}], panel,
 *     wrapupOnScriptLoad (a task to wrap up as soon as the plugin's script has run) }
 * window.Harness is what the tests drive (see the functions below).
 */
(function () {
  'use strict';
  var Flex = window.Flex;
  var Redux = window.Redux;
  var VoiceSDK = window.VoiceSDK;
  var params = new URLSearchParams(location.search);
  var config = JSON.parse(params.get('config') || '{}');

  var H = (window.Harness = {
    config: config,
    errors: [],
    fetches: [],
    setAttributesCalls: [],
    ready: false,
    pluginStates: null,
  });
  window.addEventListener('error', function (e) {
    H.errors.push('error: ' + (e && e.message));
  });
  window.addEventListener('unhandledrejection', function (e) {
    H.errors.push('unhandledrejection: ' + (e && e.reason && (e.reason.stack || e.reason.message || e.reason)));
  });

  // What the page fetched (the plugin's Functions calls), with the token masked.
  var realFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    var req = new Request(input, init);
    var rec = { url: req.url, path: new URL(req.url).pathname, method: req.method, contentType: req.headers.get('content-type'), fields: {}, sentAt: Date.now() };
    H.fetches.push(rec);
    req.clone().text().then(function (body) {
      new URLSearchParams(body).forEach(function (v, k) {
        rec.fields[k] = k === 'Token' ? '•••' : v;
      });
    }, function () {});
    return realFetch(req).then(
      function (res) {
        rec.status = res.status;
        rec.answeredAt = Date.now();
        res.clone().json().then(function (j) { rec.response = j; }, function () {});
        return res;
      },
      function (err) {
        rec.error = String(err && err.message);
        rec.answeredAt = Date.now();
        throw err;
      }
    );
  };

  // Flex's own setTwilioInWindow(): plugins call Twilio.Flex.Plugins.init.
  window.Twilio = window.Twilio || { Flex: Flex };

  // 1. store and manager
  var reducers = Redux.combineReducers({ flex: Flex.FlexReducer });
  var store = Redux.createStore(reducers, Redux.compose(Flex.applyFlexMiddleware()));
  var manager = new Flex.Manager({}, store);
  manager._serviceConfiguration = {
    account_sid: config.accountSid || 'AC' + '0'.repeat(32),
    ui_attributes: { custom_data: config.mosScore === undefined ? {} : { mos_score: config.mosScore } },
  };
  H.store = store;
  H.manager = manager;

  var workerSid = config.workerSid || 'WK' + 'a'.repeat(32);
  function dispatch(type, payload) {
    store.dispatch({ type: type, payload: payload });
  }

  /** The token as Flex's SessionState.handleTokenUpdated stores it. */
  H.setToken = function (token) {
    dispatch('FLEX_ACTION_TOKEN_UPDATED', {
      tokenPayload: { token: token, identity: 'agent-e2e', roles: ['agent'], expiration: new Date(Date.now() + 3600e3).toISOString(), permissions: [] },
    });
  };

  // 2. the worker (TaskRouterWorker from the SDK Worker object)
  dispatch('WORKER_INIT', {
    source: { sid: workerSid, name: 'agent-e2e', friendlyName: 'agent-e2e', attributes: { full_name: 'E2E Agent' }, activity: { name: 'Available' }, dateUpdated: new Date() },
  });
  if (config.token) H.setToken(config.token);

  // 3. the Voice SDK Device behind Flex's method-binding proxy
  function voiceClientProxy(device) {
    // FlexClientManager.generateVoiceClientProxy, as in flex-ui 2.17.1.
    return new Proxy(device, {
      get: function (target, key) {
        var value = target[key];
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
  var voiceClient;
  Object.defineProperty(manager, 'voiceClient', {
    configurable: true,
    get: function () {
      return voiceClient;
    },
  });
  /** What Flex does on Actions.shutdown + init (new Device, new proxy), or `empty` for a voice-init timeout. */
  H.replaceVoiceClient = function (empty) {
    if (voiceClient && voiceClient.destroy) {
      try {
        voiceClient.destroy();
      } catch (e) {
        /* a never-registered device */
      }
    }
    H.device = empty ? null : new VoiceSDK.Device(config.token || 'no-token', { logLevel: 'error', closeProtection: false });
    voiceClient = voiceClientProxy(H.device || {});
    return !!H.device;
  };
  if (config.voice !== false) H.replaceVoiceClient(false);

  /** A live call on the Device: a real voice-sdk Call, announced by the Device's 'incoming'. */
  function NoMedia() {
    this.version = null;
    this.stream = null;
    this.status = 'open';
    this.callSid = null;
    this.isMuted = false;
    this.getOrCreateDTMFSender = function () { return null; };
    this.close = function () {};
    this.iceRestart = function () {};
    this.setInputTracksFromStream = function () { return Promise.resolve(); };
    this.openDefaultDeviceWithConstraints = function () { return Promise.resolve(); };
  }
  var calls = new Map();
  H.startCall = function (callSid) {
    var publisher = { info: function () {}, warn: function () {}, error: function () {}, debug: function () {}, postMetrics: function () { return Promise.resolve(); }, setToken: function () {} };
    var pstream = { on: function () {}, addListener: function () {}, removeListener: function () {}, status: 'connected' };
    var call = new VoiceSDK.Call(
      { audioHelper: { on: function () {}, removeListener: function () {} }, isUnifiedPlanDefault: true, publisher: publisher, pstream: pstream, soundcache: new Map(), getUserMedia: function () { return Promise.resolve(); } },
      { callParameters: { CallSid: callSid }, MediaHandler: NoMedia, enableImprovedSignalingErrorPrecision: false }
    );
    calls.set(callSid, call);
    H.device.emit('incoming', call);
    return call;
  };
  /** One sample per MOS value from the call's real StatsMonitor (what its 1 s poll of getStats emits). */
  H.playSamples = function (callSid, values) {
    var call = calls.get(callSid) || H.startCall(callSid);
    values.forEach(function (mos, i) {
      call._monitor.emit('sample', { timestamp: Date.now() + i, mos: mos, rtt: 50, jitter: 2, packetsLost: 0, packetsLostFraction: 0, codecName: 'opus', totals: {}, audioInputLevel: 0, audioOutputLevel: 0 });
    });
    return call;
  };

  // 4. tasks and conferences
  var reservations = new Map(); // taskSid -> reservation

  /** A TaskRouter SDK Task (twilio-taskrouter 2.x shape); setAttributes as the SDK's: a TypeError for a non-object, else the updated Task. */
  function sdkTask(t) {
    var task = {
      sid: t.taskSid,
      attributes: t.attributes || {},
      taskChannelUniqueName: t.taskChannelUniqueName,
      taskChannelSid: 'TC' + '0'.repeat(32),
      status: 'wrapping',
      queueName: t.queueName || 'Everyone',
      queueSid: 'WQ' + '0'.repeat(32),
      workflowSid: 'WW' + '0'.repeat(32),
      priority: 0,
      age: 30,
      reason: null,
      timeout: 86400,
      dateCreated: new Date(),
      dateUpdated: new Date(),
      addOns: {},
      transfers: {},
    };
    task.setAttributes = function (attributes) {
      if (!attributes || typeof attributes !== 'object' || Array.isArray(attributes)) {
        throw new TypeError('Unable to set attributes on Task. <object>attributes is a required parameter.');
      }
      H.setAttributesCalls.push({ taskSid: task.sid, attributes: JSON.parse(JSON.stringify(attributes)), at: Date.now() });
      return new Promise(function (resolve) {
        setTimeout(function () {
          task.attributes = JSON.parse(JSON.stringify(attributes));
          task.dateUpdated = new Date();
          resolve(task);
        }, 5);
      });
    };
    return task;
  }

  /**
   * Adds a task as Flex does when TaskRouter offers a reservation.
   * `t` is a fixtures/tasks ITask ({ taskSid, reservationSid?, taskChannelUniqueName,
   * attributes, conference: { participants: [raw-ish legs] } }).
   * Each conference leg: { callSid, type ('agent'|'customer'), workerSid?, reservationSid?, status ('joined'|'left') }.
   */
  H.addTask = function (t) {
    var reservation = {
      sid: t.reservationSid || 'WR' + t.taskSid.slice(2),
      status: 'pending',
      workerSid: workerSid,
      dateCreated: new Date(),
      dateUpdated: new Date(),
      task: sdkTask(t),
      canceledReasonCode: null,
      timeout: 120,
    };
    reservations.set(t.taskSid, reservation);
    // WorkerListener.handleReservationCreated: addReservation, then taskReceived with a new TaskRouterTask.
    dispatch('WORKER_ADD_RESERVATION', reservation);
    manager.events.emitTaskReceived(new (taskInStore(t.taskSid).constructor)(reservation));
    if (t.legs) H.setConference(t.taskSid, t.legs);
    return reservation.sid;
  };

  /** The reservation's 'accepted' event as the WorkerListener handles it (see H.wrapup). */
  H.accept = function (taskSid) {
    reservationEvent(taskSid, 'accepted');
  };

  /** The conference of a task: real ConferenceParticipant objects from raw TaskRouter participants. */
  H.setConference = function (taskSid, legs) {
    var participants = legs.map(function (leg, i) {
      return new Flex.ConferenceParticipant({
        channelSid: taskSid,
        participantSid: 'UT' + String(i).padStart(32, '0'),
        type: leg.type,
        mediaProperties: { callSid: leg.callSid, status: leg.status || 'joined', hold: false, muted: false },
        routingProperties: { workerSid: leg.workerSid, reservationSid: leg.reservationSid },
        connecting: false,
      });
    });
    // The shape of Flex's Conference (flex-ui's Conference class is not exported).
    var conference = { sid: taskSid, status: 'completed', conferenceSid: 'CF' + taskSid.slice(2), participants: participants };
    dispatch('CONFERENCE_MULTIPLE_UPDATE', { conferences: [conference] });
  };

  function taskInStore(taskSid) {
    var res = reservations.get(taskSid);
    return res && store.getState().flex.worker.tasks.get(res.sid);
  }
  H.task = taskInStore;

  /**
   * What Flex's WorkerListener does on a reservation event such as 'accepted'
   * or 'wrapup' (flex-ui 2.17.1): a new TaskRouterTask over the reservation,
   * emitTaskUpdated(task, 'updated'), emitTaskUpdated(task, event), then
   * WORKER_UPDATE_RESERVATION. TaskRouterTask is not exported; its
   * constructor is the store's task's.
   */
  function reservationEvent(taskSid, event) {
    var res = reservations.get(taskSid);
    res.status = event === 'wrapup' ? 'wrapping' : event;
    res.dateUpdated = new Date();
    var TaskRouterTask = taskInStore(taskSid).constructor;
    var task = new TaskRouterTask(res);
    manager.events.emitTaskUpdated(task, 'updated');
    manager.events.emitTaskUpdated(task, event);
    dispatch('WORKER_UPDATE_RESERVATION', res);
  }
  H.wrapup = function (taskSid) {
    reservationEvent(taskSid, 'wrapup');
  };
  H.attributes = function (taskSid) {
    return taskInStore(taskSid).attributes;
  };
  H.listenerCount = function (event) {
    return manager.events.listenerCount(event);
  };

  // 5. the plugins, through Flex's own loader
  var definitions = (config.plugins || []).map(function (p, i) {
    return Object.assign({ phase: 3 }, { name: p.name, version: p.version || '0.1.0', src: p.src }, { uuid: 'e2e-plugin-' + i, state: 'NotStarted' });
  });
  function pluginStates() {
    return Flex.Plugins.plugins.map(function (p) {
      return { name: p.name, state: p.state };
    });
  }
  H.pluginsSettled = function () {
    H.pluginStates = pluginStates();
    return H.pluginStates.every(function (p) {
      return p.state === 'Initialized' || p.state === 'Failed';
    });
  };
  if (definitions.length) {
    Flex.Plugins.storePluginDefinition(definitions);
    Flex.Plugins.setup(Flex, manager);
    definitions.forEach(function (d) {
      var s = document.createElement('script');
      s.setAttribute('uuid', d.uuid);
      s.src = d.src;
      s.async = true;
      if (config.wrapupOnScriptLoad) {
        // The plugin's script has run: Flex's loader has called its init(), whose
        // promise is pending on the wasm. Flex does not wait for plugins before
        // emitting task events, so a wrap-up can come now.
        s.addEventListener('load', function () {
          var t = config.wrapupOnScriptLoad;
          H.earlyWrapup = { pluginState: pluginStates()[0].state };
          H.addTask(t);
          H.accept(t.taskSid);
          H.wrapup(t.taskSid);
        });
      }
      document.body.appendChild(s);
    });
  }
  H.ready = true;

  // 6. a small status panel (the demo's picture)
  if (config.panel) {
    var el = document.getElementById('panel');
    el.hidden = false;
    H.panel = function (rows) {
      el.innerHTML = '';
      var h = document.createElement('h1');
      h.textContent = 'Flex UI ' + Flex.VERSION + ' (real @twilio/flex-ui) + MOS score plugin';
      el.appendChild(h);
      rows.forEach(function (r) {
        var row = document.createElement('div');
        row.className = 'row' + (r.ok === false ? ' bad' : r.ok ? ' ok' : '');
        var k = document.createElement('span');
        k.className = 'k';
        k.textContent = r.k;
        var v = document.createElement('span');
        v.className = 'v';
        v.textContent = r.v;
        row.appendChild(k);
        row.appendChild(v);
        el.appendChild(row);
      });
    };
  }
})();
