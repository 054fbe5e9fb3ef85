'use strict';
/**
 * Response-schema checks against Twilio's OpenAPI specs, read from the npm
 * package @twilio-alpha/mcp (by Twilio, MIT; pinned exactly as a dev
 * dependency), which ships them under twilio-oai/spec/json/. Nothing outside
 * this repository is read.
 *
 *   const { validateBody, checkRecordedResponses } = require('./schemas');
 *   validateBody('ListMetric', 200, body)   // -> [] or a list of ajv error strings
 *
 * OpenAPI 3.0 `nullable: true` is rewritten to `anyOf: [schema, {type:'null'}]`
 * (this also covers `$ref` + `nullable` siblings), and every object schema
 * that lists `properties` gets `additionalProperties: false`, so a fake body
 * with a misspelt or invented key fails too.
 */
const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const OAI_DIR = path.join(path.dirname(require.resolve('@twilio-alpha/mcp/package.json')), 'twilio-oai', 'spec', 'json');
const SPECS = { insights: 'twilio_insights_v1.json', taskrouter: 'twilio_taskrouter_v1.json', sync: 'twilio_sync_v1.json' };

/** Fake route name -> OpenAPI operationId. */
const OPERATION_OF_ROUTE = {
  metrics: 'ListMetric',
  createTask: 'CreateTask',
  listTasks: 'ListTask',
  fetchTask: 'FetchTask',
  updateTask: 'UpdateTask',
  listTaskReservations: 'ListTaskReservation',
  listEvents: 'ListEvent',
  fetchSyncService: 'FetchService',
  createSyncMap: 'CreateSyncMap',
  fetchSyncMap: 'FetchSyncMap',
  createSyncMapItem: 'CreateSyncMapItem',
  fetchSyncMapItem: 'FetchSyncMapItem',
  updateSyncMapItem: 'UpdateSyncMapItem',
  deleteSyncMapItem: 'DeleteSyncMapItem',
};

function transform(node) {
  if (Array.isArray(node)) return node.map(transform);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'nullable' || k === 'x-twilio' || k === 'examples' || k === 'example') continue;
    out[k] = transform(v);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  if (node.nullable === true) return { anyOf: [out, { type: 'null' }] };
  return out;
}

let cache = null;
function load() {
  if (cache) return cache;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const f of ['int64', 'int32', 'uri-map', 'phone-number', 'currency', 'decimal', 'http-method', 'date-time-rfc-2822', 'sid', 'sid-list', 'string-map', 'iso-country-code', 'image-url']) {
    if (!ajv.formats[f]) ajv.addFormat(f, true);
  }
  const ops = {};
  for (const file of Object.values(SPECS)) {
    const spec = JSON.parse(fs.readFileSync(path.join(OAI_DIR, file), 'utf8'));
    const id = `oai:${file}`;
    ajv.addSchema({ $id: id, components: transform(spec.components) });
    for (const [p, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!op || !op.operationId || !op.responses) continue;
        for (const [status, resp] of Object.entries(op.responses)) {
          const schema = resp.content && resp.content['application/json'] && resp.content['application/json'].schema;
          if (!schema) continue;
          // Point local refs at the registered components document.
          const rewritten = JSON.parse(JSON.stringify(transform(schema)).replace(/"#\/components\//g, `"${id}#/components/`));
          ops[`${op.operationId} ${status}`] = { validate: ajv.compile(rewritten), path: p, method };
        }
      }
    }
  }
  cache = { ajv, ops };
  return cache;
}

/** @returns {string[]} problems; empty when `body` matches the operation's response schema for `status` */
function validateBody(operationId, status, body) {
  const op = load().ops[`${operationId} ${status}`];
  if (!op) return [`no response schema for ${operationId} ${status} in ${OAI_DIR}`];
  if (op.validate(body)) return [];
  return op.validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}${e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`);
}

/** Twilio's error JSON shape, which the specs do not describe per operation. */
function validateTwilioError(body) {
  const ok = body && Number.isInteger(body.code) && typeof body.message === 'string' && typeof body.more_info === 'string' && Number.isInteger(body.status);
  return ok ? [] : ['not a Twilio error body { code, message, more_info, status }'];
}

/**
 * Checks every response a fake recorded: 2xx bodies against the operation's
 * schema, errors against Twilio's error shape. IAM is not in the specs and is skipped.
 * @returns {string[]} problems
 */
function checkRecordedResponses(requests) {
  const problems = [];
  for (const r of requests) {
    const op = OPERATION_OF_ROUTE[r.route];
    if (r.route === 'deleteSyncMapItem' && r.status === 204) {
      if (r.response !== undefined) problems.push(`${r.method} ${r.path} (DeleteSyncMapItem 204): a 204 has no body`);
      continue;
    }
    if (!op) continue;
    const errs = r.status >= 400 ? validateTwilioError(r.response) : validateBody(op, r.status, r.response);
    for (const e of errs) problems.push(`${r.method} ${r.path} (${op} ${r.status}): ${e}`);
  }
  return problems;
}

module.exports = { validateBody, checkRecordedResponses, OAI_DIR };
