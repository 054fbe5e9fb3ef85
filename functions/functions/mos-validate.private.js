'use strict';
/**
 * Input validators (pure). Each throws a ValidationError whose message names
 * the field; the HTTP wrapper turns it into 400 invalid_parameter.
 */

const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
const TASK_SID = /^WT[0-9a-fA-F]{32}$/;
const WORKSPACE_SID = /^WS[0-9a-fA-F]{32}$/;
const WORKFLOW_SID = /^WW[0-9a-fA-F]{32}$/;

/**
 * TaskRouter's limit on a Task's JSON attributes, counted in bytes of the JSON
 * string including whitespace: 16 KiB. Source: "TaskRouter resource limits",
 * Resource Configuration Limits table, https://www.twilio.com/docs/taskrouter/limits
 * ("The limits on JSON attributes include whitespace").
 */
const ATTRIBUTES_MAX_BYTES = 16 * 1024;

/** Top-level attribute this service adds to every MOS task; the idempotency search keys on it. */
const MARKER_KEY = 'mos_score_for';

/** The slot the plugin writes the MOS into unless it says otherwise (AttributeSlot). */
const DEFAULT_SLOT = 5;
const DECIMAL = /^\s*\d+(\.\d+)?\s*$/;

class ValidationError extends Error {
  constructor(field, message) {
    super(message);
    this.name = 'ValidationError';
    this.field = field;
  }
}

function describe(value) {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length > 40 ? `"${value.slice(0, 40)}…" (${value.length} chars)` : `"${value}"`;
  return typeof value;
}

function parseSid(value, field, pattern, example) {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new ValidationError(field, `${field} must look like ${example} (34 characters), got ${describe(value)}`);
  }
  return value;
}

/** @returns {string} a CallSid matching ^CA[0-9a-fA-F]{32}$ */
function parseCallSid(value, field = 'CallSid') {
  return parseSid(value, field, CALL_SID, 'CA followed by 32 hex digits');
}

/** @returns {string} a Task SID matching ^WT[0-9a-fA-F]{32}$ */
function parseTaskSid(value, field = 'OriginalTaskSid') {
  return parseSid(value, field, TASK_SID, 'WT followed by 32 hex digits');
}

/**
 * AttributeSlot: which conversation_attribute_N / conversation_measure_N holds
 * the MOS. Optional (default 5), an integer 1..10.
 * @returns {number}
 */
function parseSlot(value, field = 'AttributeSlot') {
  if (value === undefined || value === null || value === '') return DEFAULT_SLOT;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,2}$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 10) {
    throw new ValidationError(field, `${field} must be an integer from 1 to 10, got ${describe(value)}`);
  }
  return n;
}

/** A MOS on the 1.0–5.0 scale, as a number or a plain decimal string. */
function mosValue(value) {
  let n;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && DECIMAL.test(value)) n = Number(value);
  else return undefined;
  return Number.isFinite(n) && n >= 1 && n <= 5 ? n : undefined;
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkMosSummary(summary) {
  const f = 'Attributes.mos_score';
  if (!isPlainObject(summary)) throw new ValidationError(f, `${f} must be an object when present`);
  for (const key of ['average', 'minimum']) {
    if (typeof summary[key] !== 'number' || mosValue(summary[key]) === undefined) {
      throw new ValidationError(`${f}.${key}`, `${f}.${key} must be a MOS between 1.0 and 5.0, got ${describe(summary[key])}${typeof summary[key] === 'number' ? ` (${summary[key]})` : ''}`);
    }
  }
  if (summary.poorShare !== undefined && !(typeof summary.poorShare === 'number' && summary.poorShare >= 0 && summary.poorShare <= 1)) {
    throw new ValidationError(`${f}.poorShare`, `${f}.poorShare must be a number between 0 and 1`);
  }
  if (summary.samples !== undefined && !(Number.isInteger(summary.samples) && summary.samples >= 1)) {
    throw new ValidationError(`${f}.samples`, `${f}.samples must be an integer >= 1`);
  }
}

/**
 * Validates the plugin's Attributes for the MOS task and adds the marker.
 * @param {unknown} value JSON string of an object (form bodies) or, from a JSON
 *   body, the object itself
 * @param {string} originalTaskSid already validated
 * @param {number} slot already validated (parseSlot): only this slot's
 *   conversation_attribute_N / conversation_measure_N must hold a MOS; the
 *   other conversations keys are the original task's own data and pass as they are
 * @returns {{ attributes: object, json: string }} json is what TaskRouter gets
 */
function parseAttributes(value, originalTaskSid, slot = DEFAULT_SLOT) {
  const field = 'Attributes';
  let text;
  if (typeof value === 'string') text = value;
  else if (isPlainObject(value)) text = JSON.stringify(value);
  else throw new ValidationError(field, `${field} must be a JSON string of an object, got ${describe(value)}`);

  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > ATTRIBUTES_MAX_BYTES) {
    throw new ValidationError(field, `${field} is ${bytes} bytes, over TaskRouter's ${ATTRIBUTES_MAX_BYTES}-byte attribute limit`);
  }
  let attributes;
  try {
    attributes = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(field, `${field} is not valid JSON (${err.message})`);
  }
  if (!isPlainObject(attributes)) throw new ValidationError(field, `${field} must be a JSON object, got ${Array.isArray(attributes) ? 'an array' : describe(attributes)}`);

  const conv = attributes.conversations;
  if (!isPlainObject(conv)) throw new ValidationError(`${field}.conversations`, `${field}.conversations must be an object`);
  if (conv.conversation_id !== originalTaskSid) {
    throw new ValidationError(
      `${field}.conversations.conversation_id`,
      `${field}.conversations.conversation_id must equal OriginalTaskSid ${originalTaskSid}, got ${describe(conv.conversation_id)}`,
    );
  }
  for (const key of [`conversation_attribute_${slot}`, `conversation_measure_${slot}`]) {
    const v = conv[key];
    if (mosValue(v) === undefined) {
      throw new ValidationError(`${field}.conversations.${key}`, `${field}.conversations.${key} must be a MOS between 1.0 and 5.0, got ${describe(v)}${typeof v === 'number' ? ` (${v})` : ''}`);
    }
  }
  if (attributes.mos_score !== undefined) checkMosSummary(attributes.mos_score);
  if (attributes[MARKER_KEY] !== undefined && attributes[MARKER_KEY] !== originalTaskSid) {
    throw new ValidationError(`${field}.${MARKER_KEY}`, `${field}.${MARKER_KEY} is set by this service and must equal OriginalTaskSid ${originalTaskSid} if present`);
  }

  const withMarker = { ...attributes, [MARKER_KEY]: originalTaskSid };
  const json = JSON.stringify(withMarker);
  const finalBytes = Buffer.byteLength(json, 'utf8');
  if (finalBytes > ATTRIBUTES_MAX_BYTES) {
    throw new ValidationError(field, `${field} is ${finalBytes} bytes once ${MARKER_KEY} is added, over TaskRouter's ${ATTRIBUTES_MAX_BYTES}-byte attribute limit`);
  }
  return { attributes: withMarker, json };
}

module.exports = {
  ValidationError,
  parseCallSid,
  parseTaskSid,
  parseAttributes,
  parseSlot,
  mosValue,
  DEFAULT_SLOT,
  CALL_SID,
  TASK_SID,
  WORKSPACE_SID,
  WORKFLOW_SID,
  ATTRIBUTES_MAX_BYTES,
  MARKER_KEY,
};
