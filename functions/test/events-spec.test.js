'use strict';
// docs/server-mode.md's Twilio CLI commands against Twilio's own OpenAPI specs
// (npm @twilio-alpha/mcp): each command is an operation that exists, its flags are
// that operation's parameters (required ones present), and the subscription asks
// for exactly the event types mos_events handles.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { OAI_DIR } = require('./support/schemas');
const { TYPES } = require('../functions/mos-events.private');

const DOC = fs.readFileSync(path.resolve(__dirname, '../../docs/server-mode.md'), 'utf8');
const spec = (name) => JSON.parse(fs.readFileSync(path.join(OAI_DIR, `twilio_${name}_v1.json`), 'utf8'));

/** Every `twilio api:...` command in the doc's ```sh blocks, with its --flags (continuation lines joined). */
function commands() {
  const blocks = [...DOC.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
  const text = blocks.replace(/\\\n\s*/g, ' ');
  const out = [];
  for (const m of text.matchAll(/twilio (api:[a-z0-9:-]+)([^\n#]*)/g)) {
    const flags = {};
    for (const f of m[2].matchAll(/--([a-z-]+)(?:[ =]('[^']*'|\S+))?/g)) {
      const v = f[2] && f[2].startsWith("'") ? f[2].slice(1, -1) : f[2];
      (flags[f[1]] = flags[f[1]] || []).push(v);
    }
    out.push({ topic: m[1], flags });
  }
  return out;
}

/** api:events:v1:sinks:test:create -> { spec: 'events', method: 'post', path: '/v1/Sinks/{Sid}/Test' } */
function operationOf(topic, doc) {
  const [, product, version, ...rest] = topic.split(':');
  const action = rest.pop();
  const pascal = (s) => s.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('');
  const paths = Object.keys(doc.paths);
  let p = `/${version}`;
  rest.forEach((noun, i) => {
    p += `/${pascal(noun)}`;
    if (i < rest.length - 1) {
      const param = paths.find((x) => x.startsWith(`${p}/{`));
      assert.ok(param, `${topic}: no ${p}/{…} in the ${product} spec`);
      p = param.slice(0, param.indexOf('}', p.length) + 1);
    }
  });
  const method = { create: 'post', list: 'get', fetch: 'get', update: 'post', remove: 'delete' }[action];
  return { product, method, path: p };
}

const cliFlag = (param) => param.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

test('every Twilio CLI command in docs/server-mode.md is an operation of the Events/Sync specs, with valid flags', () => {
  const cmds = commands().filter((c) => /^api:(events|sync):/.test(c.topic));
  assert.ok(cmds.length >= 6, `found ${cmds.length} commands`);
  for (const c of cmds) {
    const doc = spec(c.topic.split(':')[1]);
    const op = operationOf(c.topic, doc);
    const operation = doc.paths[op.path] && doc.paths[op.path][op.method];
    assert.ok(operation, `${c.topic}: no ${op.method.toUpperCase()} ${op.path}`);
    const pathParams = (op.path.match(/\{(\w+)\}/g) || []).map((x) => cliFlag(x.slice(1, -1)));
    const body = operation.requestBody && operation.requestBody.content['application/x-www-form-urlencoded'].schema;
    const query = (operation.parameters || []).filter((x) => x.in === 'query').map((x) => cliFlag(x.name));
    const allowed = new Set([...pathParams, ...query, ...Object.keys((body && body.properties) || {}).map(cliFlag), 'properties', 'o']);
    for (const flag of Object.keys(c.flags)) assert.ok(allowed.has(flag), `${c.topic}: --${flag} is not a parameter of ${operation.operationId}`);
    for (const req of (body && body.required) || []) assert.ok(c.flags[cliFlag(req)], `${c.topic}: required --${cliFlag(req)} missing`);
  }
});

test('the sink is a webhook sink configured with destination and method POST', () => {
  const sink = commands().find((c) => c.topic === 'api:events:v1:sinks:create');
  const doc = spec('events');
  const sinkType = doc.paths['/v1/Sinks'].post.requestBody.content['application/x-www-form-urlencoded'].schema.properties.SinkType;
  const ref = sinkType.$ref ? sinkType.$ref.split('/').pop() : null;
  const values = ref ? doc.components.schemas[ref].enum : sinkType.enum;
  assert.ok(values.includes('webhook'), `SinkType enum: ${values}`);
  assert.deepEqual(sink.flags['sink-type'], ['webhook']);
  const cfg = JSON.parse(sink.flags['sink-configuration'][0]);
  assert.equal(cfg.method, 'POST');
  assert.match(cfg.destination, /^https:\/\/.+\/mos_events$/);
});

test('the subscription asks for exactly the event types mos_events handles, each with an integer schema_version', () => {
  const sub = commands().find((c) => c.topic === 'api:events:v1:subscriptions:create');
  const types = sub.flags.types.map((t) => JSON.parse(t));
  for (const t of types) assert.ok(Number.isInteger(t.schema_version) && t.schema_version >= 1, JSON.stringify(t));
  assert.deepEqual(types.map((t) => t.type).sort(), Object.values(TYPES).sort());
});
