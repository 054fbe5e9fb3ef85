'use strict';
/**
 * The one wrapper both Functions go through. In order, cheapest first:
 *   1. configuration (500 internal_error naming the env var);
 *   2. transport: a form or JSON body (415 unsupported_media_type); a request
 *      without a body is not a POST from the plugin (405 method_not_allowed),
 *      and if it carries a Token that Token came in the URL (400
 *      token_in_query; never echoed, never logged);
 *   3. the fields (400 invalid_parameter / invalid_proof naming the field);
 *   4. the token's shape: present, <= 8 KiB, printable-ASCII JWT (403 invalid_token);
 *   5. only then the REAL twilio-flex-token-validator (one IAM call), raced
 *      against AUTH_TIMEOUT_MS: 503 auth_unavailable when IAM is slow or down,
 *      403 invalid_token when it says no;
 *   6. the handler, with a deadline for its Twilio calls;
 *   7. a watchdog: whatever happens, an answer leaves by ANSWER_BY_MS.
 * Every outcome is our JSON with our CORS headers. Messages say what was
 * wrong; Twilio's and Node's own texts are never passed on (they are logged).
 *
 * Handlers: `async (context, fields, { deadline, log, identity }) => body`,
 * identity = { workerSid, roles, principal } from the validated token; they
 * throw HttpError for non-200 answers.
 *
 * Transport facts: Twilio Functions (and twilio-run with @twilio/runtime-handler)
 * merge query and body into `event` and add `event.request.headers`; the HTTP
 * method is not exposed. So a URL Token is caught when there is no body (GET,
 * or a bodiless POST); a URL Token next to a body Token is not distinguishable.
 */
const { validator } = require('twilio-flex-token-validator');
const { HttpError, HANDLER_BUDGET_MS, ANSWER_BY_MS } = require(Runtime.getFunctions()['mos-twilio'].path);
const { tokenProblem } = require(Runtime.getFunctions()['mos-validate'].path);
const { principalOf } = require(Runtime.getFunctions()['mos-auth'].path);

const DEFAULT_ALLOWED_ORIGIN = 'https://flex.twilio.com';
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;
const AUTH_TIMEOUT_MS = 3000;
const BODY_TYPES = ['application/x-www-form-urlencoded', 'application/json'];
/**
 * The validator rejects with a bare string: Twilio's `message` when IAM answered, or Node's error
 * text when it did not. These mean "IAM did not decide" (down, overloaded, garbled), not "invalid".
 */
const IAM_DOWN = /ECONN|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket|Unexpected|JSON|timeout|Internal Server Error|Service Unavailable|Bad Gateway|Too Many Requests|^undefined$/i;

/** `[mos-score]`-prefixed logging; never given the token. */
function logger(name) {
  const prefix = `[mos-score] ${name}:`;
  return {
    info: (...a) => console.log(prefix, ...a),
    warn: (...a) => console.warn(prefix, ...a),
    error: (...a) => console.error(prefix, ...a),
  };
}

/** ALLOWED_ORIGIN: one origin (default https://flex.twilio.com) or "*" as an explicit opt-in. */
function allowedOrigin(context) {
  const raw = context && typeof context.ALLOWED_ORIGIN === 'string' ? context.ALLOWED_ORIGIN.trim() : '';
  if (raw === '') return DEFAULT_ALLOWED_ORIGIN;
  if (raw === '*' || ORIGIN.test(raw)) return raw;
  throw new HttpError(500, 'internal_error', `ALLOWED_ORIGIN must be "*" or a single origin like ${DEFAULT_ALLOWED_ORIGIN}`);
}

function jsonResponse(origin, status, body) {
  const response = new Twilio.Response();
  response.setStatusCode(status);
  // Exactly 'application/json': twilio-run serialises the body only for this value.
  response.appendHeader('Content-Type', 'application/json');
  response.appendHeader('Cache-Control', 'no-store');
  response.appendHeader('Access-Control-Allow-Origin', origin);
  response.appendHeader('Access-Control-Allow-Methods', 'OPTIONS, POST');
  response.appendHeader('Access-Control-Allow-Headers', 'Content-Type');
  response.setBody(body);
  return response;
}

function toHttpError(err) {
  if (err instanceof HttpError) return err;
  if (err && err.name === 'ValidationError') return new HttpError(400, err.code || 'invalid_parameter', err.message, { field: err.field });
  return new HttpError(500, 'internal_error', 'Unexpected error in the MOS score service; see its logs');
}

/** Checks what the runtime tells about the request; throws 405/415/400. */
function checkTransport(event) {
  const headers = (event.request && event.request.headers) || {};
  const type = String(headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  if (type === '') {
    if (event.Token !== undefined) throw new HttpError(400, 'token_in_query', 'The Token must be sent in a POST body, never in the URL; this request was refused and the token not used');
    throw new HttpError(405, 'method_not_allowed', 'Use POST with a form (application/x-www-form-urlencoded) or JSON body');
  }
  if (!BODY_TYPES.includes(type)) throw new HttpError(415, 'unsupported_media_type', `Content-Type must be ${BODY_TYPES.join(' or ')}`);
}

/** The real validator, raced against AUTH_TIMEOUT_MS. @returns {Promise<{workerSid, roles, principal}>} */
function validateToken(context, token) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new HttpError(503, 'auth_unavailable', 'Twilio could not confirm the token in time; retry')), AUTH_TIMEOUT_MS);
  });
  const check = validator(token, context.ACCOUNT_SID, context.AUTH_TOKEN).then(
    (result) => {
      const identity = {
        workerSid: typeof result.worker_sid === 'string' && /^WK[0-9a-fA-F]{32}$/.test(result.worker_sid) ? result.worker_sid : null,
        roles: Array.isArray(result.roles) ? result.roles.filter((r) => typeof r === 'string') : [],
        userId: result.realm_user_id,
        identity: result.identity,
      };
      return { ...identity, principal: principalOf(identity) };
    },
    (reason) => {
      if (IAM_DOWN.test(String(reason))) throw new HttpError(503, 'auth_unavailable', 'Twilio could not confirm the token; retry');
      throw new HttpError(403, 'invalid_token', 'Token rejected by Twilio: expired, or not issued for this account');
    },
  );
  return Promise.race([check, timeout]).finally(() => clearTimeout(timer));
}

/**
 * @param {object} opts
 * @param {string} opts.name Function name, for logs
 * @param {Array<[string, RegExp?]>} [opts.requiredEnv] extra env vars (and their format) beyond ACCOUNT_SID/AUTH_TOKEN
 * @param {(event:object) => object} opts.parse the fields (throws ValidationError); runs before any Twilio call
 * @param {(context, fields, tools:{deadline:number, log:object, identity:object}) => Promise<object>} opts.handler
 * @returns Twilio Function handler `(context, event, callback)`
 */
function wrap({ name, requiredEnv = [], parse, handler }) {
  const log = logger(name);
  return function mosScoreHandler(context, event, callback) {
    const started = Date.now();
    let origin = DEFAULT_ALLOWED_ORIGIN;
    let answered = false;
    let watchdog = null;
    const finish = (status, body) => {
      if (answered) return;
      answered = true;
      clearTimeout(watchdog);
      callback(null, jsonResponse(origin, status, body));
    };
    const fail = (err) => {
      const e = toHttpError(err);
      if (e.status >= 500 || e.status === 429) log.error(`${e.status} ${e.code}: ${e.message}${e === err ? '' : ` (${err && err.name}: ${err && err.message})`}`);
      finish(e.status, { error: { code: e.code, message: e.message, ...e.extra } });
    };

    let fields;
    let token;
    try {
      origin = allowedOrigin(context);
      for (const [key, pattern] of [['ACCOUNT_SID', /^AC[0-9a-fA-F]{32}$/], ['AUTH_TOKEN'], ...requiredEnv]) {
        const v = context[key];
        if (typeof v !== 'string' || v.trim() === '') throw new HttpError(500, 'internal_error', `Environment variable ${key} is not set`);
        if (pattern && !pattern.test(v)) throw new HttpError(500, 'internal_error', `Environment variable ${key} is malformed`);
      }
      const ev = event || {};
      checkTransport(ev);
      fields = parse(ev);
      token = ev.Token;
      const problem = tokenProblem(token);
      if (problem) throw new HttpError(403, 'invalid_token', problem);
    } catch (err) {
      fail(err);
      return;
    }

    watchdog = setTimeout(() => fail(new HttpError(503, 'timeout', 'The MOS score service ran out of time; retry')), Math.max(0, started + ANSWER_BY_MS - Date.now()));
    validateToken(context, token)
      .then((identity) => handler(context, fields, { deadline: started + HANDLER_BUDGET_MS, log, identity }))
      .then((body) => finish(200, body), fail);
  };
}

module.exports = { wrap };
