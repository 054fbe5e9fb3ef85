'use strict';
// Server mode links conversations.conversation_id on the ORIGINAL task with
// TaskRouter's If-Match (ETag): a concurrent change is never overwritten (412 path).
const test = require('node:test');
const assert = require('node:assert/strict');
const twilio = require('twilio');
const { scenario } = require('./support/harness');
const { linkOriginalTask, lowerSid } = require('../functions/mos-events.private');

function tasksOf(w) {
  return twilio(w.env.ACCOUNT_SID, w.env.AUTH_TOKEN, { autoRetry: false }).taskrouter.v1.workspaces(w.env.WORKSPACE_SID).tasks;
}

async function voiceTask(w, attributes) {
  const t = await tasksOf(w).create({ workflowSid: w.env.WORKFLOW_SID, taskChannel: 'voice', attributes: JSON.stringify(attributes) });
  return lowerSid(t.sid);
}

const attrsOf = (w, sid) => JSON.parse(w.fake.tasks.get(sid).attributes);

test('links conversation_id with If-Match on the fetched ETag', () =>
  scenario({}, async (w) => {
    const sid = await voiceTask(w, { conversations: { conversation_attribute_1: 'gold' } });
    w.fake.resetRequests();
    assert.deepEqual(await linkOriginalTask(tasksOf(w)(sid), sid), { link: 'linked', conversationId: sid });
    assert.deepEqual(attrsOf(w, sid).conversations, { conversation_attribute_1: 'gold', conversation_id: sid });
    const update = w.fake.requests.find((r) => r.route === 'updateTask');
    assert.ok(update, 'one update');
    assert.deepEqual(w.fake.requests.map((r) => `${r.route} ${r.status}`), ['fetchTask 200', 'updateTask 200']);
    assert.deepEqual(await linkOriginalTask(tasksOf(w)(sid), sid), { link: 'already', conversationId: sid }, 'second time: nothing to write');
  }));

test('412: Flex changed the task between our fetch and our update; its change is kept and the link is retried', () =>
  scenario({}, async (w) => {
    const sid = await voiceTask(w, { conversations: {} });
    const ctx = tasksOf(w)(sid);
    let raced = false;
    const racing = {
      fetchWithHttpInfo: async () => {
        const res = await ctx.fetchWithHttpInfo();
        if (!raced) {
          raced = true; // Flex writes the wrap-up disposition right after our read
          await tasksOf(w)(sid).update({ attributes: JSON.stringify({ conversations: { conversation_attribute_2: 'resolved' } }) });
        }
        return res;
      },
      update: (params) => ctx.update(params),
    };
    w.fake.resetRequests();
    assert.equal((await linkOriginalTask(racing, sid)).link, 'linked');
    assert.deepEqual(attrsOf(w, sid).conversations, { conversation_attribute_2: 'resolved', conversation_id: sid });
    assert.deepEqual(w.fake.requests.map((r) => `${r.route} ${r.status}`), ['fetchTask 200', 'updateTask 200', 'updateTask 412', 'fetchTask 200', 'updateTask 200']);
    assert.ok(w.fake.requests.filter((r) => r.route === 'updateTask' && r.status !== 412).length === 2);
  }));

test('another conversation_id already there (set concurrently or by a transfer flow) is kept', () =>
  scenario({}, async (w) => {
    const other = 'WT' + 'e'.repeat(32);
    const sid = await voiceTask(w, { conversations: { conversation_id: other } });
    assert.deepEqual(await linkOriginalTask(tasksOf(w)(sid), sid), { link: 'other', conversationId: other }, 'the conversation the MOS task joins');
    assert.equal(attrsOf(w, sid).conversations.conversation_id, other);
  }));

test('a task TaskRouter already deleted is reported gone, not an error', () =>
  scenario({}, async (w) => {
    const sid = await voiceTask(w, {});
    w.fake.deleteTask(sid);
    assert.deepEqual(await linkOriginalTask(tasksOf(w)(sid), sid), { link: 'gone', conversationId: null });
  }));
