'use strict';
/**
 * The one wrapper both Functions go through:
 *   1. configuration check (500 internal_error naming the env var);
 *   2. the REAL twilio-flex-token-validator `functionValidator` (403
 *      invalid_token; its own text/plain `*`-CORS failure response is replaced
 *      by our JSON one);
 *   3. the handler, which parses its fields (400 invalid_parameter) before any
 *      Twilio call;
 *   4. every outcome as JSON with our CORS headers.
 *
 * Handlers are `async (context, event, { deadline, log }) => body` and throw
 * HttpError (or ValidationError) for non-200 answers.
 */
const { functionValidator } = require('twilio-flex-token-validator');

const { HANDLER_BUDGET_MS } = require(Runtime.getFunctions()['mos-twilio'].path);

const DEFAULT_ALLOWED_ORIGIN = 'https://flex.twilio.com';
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;

class HttpError extends Error {
  /**
   * @param {number} status HTTP status
   * @param {string} code contract error code (docs/contract.md)
   * @param {string} message human readable, names the field or SID
   * @param {object} [extra] more members of the error object, e.g. { twilioCode }
   */
  constructor(status, code, message, extra) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.extra = extra || {};
  }
}

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
  throw new HttpError(500, 'internal_error', `ALLOWED_ORIGIN must be "*" or a single origin like ${DEFAULT_ALLOWED_ORIGIN}, got "${raw}"`);
}

function corsHeaders(origin) {
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': 'OPTIONS, POST, GET',
    'Access-Control-Allow-Headers': 'Content-Type',
  };
}

function jsonResponse(origin, status, body) {
  const response = new Twilio.Response();
  response.setStatusCode(status);
  // Exactly 'application/json': twilio-run serialises the body only for this value.
  response.appendHeader('Content-Type', 'application/json');
  response.appendHeader('Cache-Control', 'no-store');
  for (const [k, v] of Object.entries(corsHeaders(origin))) response.appendHeader(k, v);
  response.setBody(body);
  return response;
}

function toHttpError(err) {
  if (err instanceof HttpError) return err;
  if (err && err.name === 'ValidationError') return new HttpError(400, 'invalid_parameter', err.message, { field: err.field });
  return new HttpError(500, 'internal_error', `Unexpected error: ${err && err.message ? err.message : String(err)}`);
}

/**
 * @param {object} opts
 * @param {string} opts.name Function name, for logs
 * @param {Array<[string, RegExp?]>} [opts.requiredEnv] extra env vars (and their format) beyond ACCOUNT_SID/AUTH_TOKEN
 * @param {(context, event, tools: {deadline:number, log:object}) => Promise<object>} opts.handler
 * @returns Twilio Function handler `(context, event, callback)`
 */
function wrap({ name, requiredEnv = [], handler }) {
  const log = logger(name);
  return function mosScoreHandler(context, event, callback) {
    const started = Date.now();
    let origin = DEFAULT_ALLOWED_ORIGIN;
    let answered = false;
    const finish = (status, body) => {
      if (answered) return;
      answered = true;
      callback(null, jsonResponse(origin, status, body));
    };
    const fail = (err) => {
      const e = toHttpError(err);
      if (e.status >= 500 || e.status === 429) log.error(`${e.status} ${e.code}: ${e.message}`);
      finish(e.status, { error: { code: e.code, message: e.message, ...e.extra } });
    };

    try {
      origin = allowedOrigin(context);
      for (const [key, pattern] of [['ACCOUNT_SID', /^AC[0-9a-fA-F]{32}$/], ['AUTH_TOKEN'], ...requiredEnv]) {
        const v = context[key];
        if (typeof v !== 'string' || v.trim() === '') throw new HttpError(500, 'internal_error', `Environment variable ${key} is not set`);
        if (pattern && !pattern.test(v)) throw new HttpError(500, 'internal_error', `Environment variable ${key} is malformed`);
      }
    } catch (err) {
      fail(err);
      return;
    }

    let entered = false;
    const validated = functionValidator(async (ctx, ev) => {
      entered = true;
      try {
        const body = await handler(ctx, ev, { deadline: started + HANDLER_BUDGET_MS, log });
        finish(200, body);
      } catch (err) {
        fail(err);
      }
    });
    // Only the validator's own failure path reaches this callback: our handler
    // answers through finish(). Its response is text/plain with `*` CORS, so
    // keep the reason and answer in our JSON shape instead.
    const onValidatorFailure = (err, response) => {
      if (entered) return;
      const reason = response && typeof response.body === 'string' && response.body ? response.body : 'token validation failed';
      fail(new HttpError(403, 'invalid_token', `Token rejected: ${reason}`));
    };
    try {
      validated(context, event || {}, onValidatorFailure);
    } catch (err) {
      fail(err);
    }
  };
}

module.exports = { wrap, HttpError, allowedOrigin, corsHeaders, toHttpError, DEFAULT_ALLOWED_ORIGIN };
