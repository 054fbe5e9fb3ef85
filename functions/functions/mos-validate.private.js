'use strict';
/**
 * Input validators (pure), run before any Twilio call. Each throws a
 * ValidationError whose message names the field (never echoing more than a
 * short, sanitised excerpt); the HTTP wrapper turns it into 400
 * invalid_parameter.
 *
 * SIDs are normalised: "WT"/"CA" + the 32 hex digits in lowercase, the form
 * Twilio issues, so "WTABC…" and "WTabc…" are one task everywhere (ledger key,
 * Twilio calls, attributes, proof).
 */

const SID = { WT: /^WT([0-9a-fA-F]{32})$/, CA: /^CA([0-9a-fA-F]{32})$/ };
/** A Flex token is a JWT: three base64url parts. Anything else never reaches IAM. */
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const TOKEN_MAX_CHARS = 8192;
const PROOF = /^v1\.[0-9a-z]{1,12}\.[A-Za-z0-9_-]{43}$/;
const SOURCES = ['voice-insights', 'sdk'];
const DEFAULT_SLOT = 5;
/** Keys the runtime itself adds to `event` (Twilio Functions / twilio-run with @twilio/runtime-handler). */
const RUNTIME_KEYS = new Set(['request']);
const MAX_SAMPLES = 1000000;

class ValidationError extends Error {
  constructor(field, message, code = 'invalid_parameter') {
    super(message);
    this.name = 'ValidationError';
    this.field = field;
    this.code = code;
  }
}

/** A short, printable-ASCII excerpt of a bad value for a message (never the token). */
function describe(value) {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list (the field was given more than once?)';
  if (typeof value === 'object') return 'an object';
  const text = String(value);
  const clean = text.slice(0, 40).replace(/[^\x20-\x7e]/g, '?');
  return `"${clean}${text.length > 40 ? '...' : ''}" (${text.length} chars)`;
}

function scalar(event, field) {
  const v = event[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') throw new ValidationError(field, `${field} must be a single text value, got ${describe(v)}`);
  return v;
}

function required(event, field) {
  const v = scalar(event, field);
  if (v === undefined) throw new ValidationError(field, `${field} is required`);
  return v;
}

/** @returns {string} "WT"/"CA" + 32 lowercase hex */
function parseSid(value, field, prefix) {
  const m = typeof value === 'string' ? SID[prefix].exec(value) : null;
  if (!m) throw new ValidationError(field, `${field} must be ${prefix} followed by 32 hex digits (34 characters), got ${describe(value)}`);
  return prefix + m[1].toLowerCase();
}

/** AttributeSlot: optional (default 5), an integer 1..10. */
function parseSlot(value, field = 'AttributeSlot') {
  if (value === undefined) return DEFAULT_SLOT;
  if (!/^(10|[1-9])$/.test(value)) throw new ValidationError(field, `${field} must be an integer from 1 to 10, got ${describe(value)}`);
  return Number(value);
}

/** A plain decimal with at most 2 decimals within [min, max]. */
function parseDecimal(value, field, min, max) {
  if (!/^\d{1,2}(\.\d{1,2})?$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ValidationError(field, `${field} must be a number from ${min} to ${max} with at most 2 decimals, got ${describe(value)}`);
  }
  return Number(value);
}

function parseSamples(value, field = 'Samples') {
  if (!/^[1-9]\d{0,6}$/.test(value) || Number(value) > MAX_SAMPLES) {
    throw new ValidationError(field, `${field} must be an integer from 1 to ${MAX_SAMPLES}, got ${describe(value)}`);
  }
  return Number(value);
}

/**
 * Checks that `event` holds only `allowed` fields (plus the runtime's own).
 * Anything else (e.g. the old `Attributes`) is refused, so nothing unexpected
 * can ride along toward TaskRouter.
 */
function onlyFields(event, allowed) {
  for (const key of Object.keys(event)) {
    if (RUNTIME_KEYS.has(key) || allowed.includes(key)) continue;
    const shown = key.slice(0, 40).replace(/[^\x20-\x7e]/g, '?');
    throw new ValidationError(key, `Unknown field "${shown}": this Function accepts only ${allowed.join(', ')}`);
  }
}

/**
 * The token's shape, checked before IAM sees it: present, at most 8 KiB,
 * printable ASCII in JWT form. (twilio-flex-token-validator sets
 * Content-Length to the character count, so non-ASCII would corrupt its request.)
 * @returns {string|null} null when fine, else the reason (never containing the token)
 */
function tokenProblem(token) {
  if (token === undefined || token === null || token === '') return 'Token was not provided';
  if (typeof token !== 'string') return 'Token must be a single text value';
  if (token.length > TOKEN_MAX_CHARS) return `Token is longer than ${TOKEN_MAX_CHARS} characters`;
  if (!JWT.test(token)) return 'Token is not a Flex token (a JWT of base64url parts)';
  return null;
}

/** get_mos_score: Token, TaskSid, CallSid. */
function parseGetRequest(event) {
  onlyFields(event, ['Token', 'TaskSid', 'CallSid']);
  return {
    taskSid: parseSid(required(event, 'TaskSid'), 'TaskSid', 'WT'),
    callSid: parseSid(required(event, 'CallSid'), 'CallSid', 'CA'),
  };
}

/** create_mos_score_task: Token, TaskSid, CallSid, AttributeSlot?, Average, Minimum, PoorShare, Samples, Source, Proof (voice-insights). */
function parseCreateRequest(event) {
  onlyFields(event, ['Token', 'TaskSid', 'CallSid', 'AttributeSlot', 'Average', 'Minimum', 'PoorShare', 'Samples', 'Source', 'Proof']);
  const taskSid = parseSid(required(event, 'TaskSid'), 'TaskSid', 'WT');
  const callSid = parseSid(required(event, 'CallSid'), 'CallSid', 'CA');
  const slot = parseSlot(scalar(event, 'AttributeSlot'));
  const source = required(event, 'Source');
  if (!SOURCES.includes(source)) throw new ValidationError('Source', `Source must be one of ${SOURCES.join(', ')}, got ${describe(source)}`);
  const average = parseDecimal(required(event, 'Average'), 'Average', 1, 5);
  const minimum = parseDecimal(required(event, 'Minimum'), 'Minimum', 1, 5);
  if (minimum > average) throw new ValidationError('Minimum', `Minimum (${minimum}) must not be above Average (${average})`);
  const poorShare = parseDecimal(required(event, 'PoorShare'), 'PoorShare', 0, 1);
  const samples = parseSamples(required(event, 'Samples'));
  const proof = scalar(event, 'Proof');
  if (source === 'voice-insights' && proof === undefined) throw new ValidationError('Proof', 'Proof is required when Source is voice-insights: send back the proof get_mos_score returned', 'invalid_proof');
  if (proof !== undefined && !PROOF.test(proof)) throw new ValidationError('Proof', 'Proof is not a proof this service issued', 'invalid_proof');
  return { taskSid, callSid, slot, summary: { average, minimum, poorShare, samples, source }, proof };
}

module.exports = {
  ValidationError,
  parseSid,
  tokenProblem,
  parseGetRequest,
  parseCreateRequest,
  parseSlot,
  TOKEN_MAX_CHARS,
};
