/**
 * The failure buttons through Bolt: correctly signed block_actions requests to the HTTP
 * receiver press "I'm on it" and Restart, with the real jobs runtime on Redis and the
 * fake Slack Web API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { BotApp } from '../../src/bot/app.js';
import { RUN_ACTIONS } from '../../src/bot/blocks.js';
import { ONCALL_ACK_ACTION } from '../../src/jobs/oncall-paging.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import { CANARY, CHANNEL, startBotHarness, type BotHarness } from '../bot/bot-harness.js';
import { postSignedRequest, startHttpBot } from '../support/slack-http.js';

// From config/trainops.example.yaml: 李娜 is on call, 陈晨 and 刘洋 are members.
const ONCALL = 'U01LINA';
const OWNER = 'U01CHENCHEN';
const OTHER = 'U01LIUYANG';

let harness: BotHarness;
let bot: BotApp;
let endpoint: string;
let sequence = 0;

beforeAll(async () => {
  harness = await startBotHarness();
  ({ bot, endpoint } = await startHttpBot(harness, { botToken: CANARY.botToken, signingSecret: CANARY.signingSecret }));
});

afterAll(async () => {
  await bot?.stop();
  await harness?.stop();
});

/** Posts a signed button click; returns the response_url id the reply goes to. */
async function pressButton(userId: string, actionId: string, value: string, run: RunRecord): Promise<string> {
  sequence += 1;
  const responseId = `button-${sequence}`;
  const payload = {
    type: 'block_actions',
    user: { id: userId, team_id: 'T00000001' },
    team: { id: 'T00000001', domain: 'team' },
    api_app_id: 'A0TEST',
    trigger_id: `trigger-${sequence}`,
    container: { type: 'message', message_ts: '9999.0001', channel_id: CHANNEL, is_ephemeral: false },
    channel: { id: CHANNEL, name: 'trainops' },
    message: { type: 'message', ts: '9999.0001', thread_ts: run.threadTs, text: 'page' },
    response_url: `${harness.slack.url.replace(/\/api\/$/, '')}/response/${responseId}`,
    actions: [{ type: 'button', action_id: actionId, block_id: 'b1', value, action_ts: `${Date.now() / 1000}`, text: { type: 'plain_text', text: 'x' } }],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const response = await postSignedRequest(endpoint, body, { signingSecret: CANARY.signingSecret });
  expect(response.status).toBe(200);
  return responseId;
}

async function failedRun(): Promise<RunRecord> {
  const created = await harness.jobs.runStore.create({ kind: 'train', recipe: 'medical-phi4', vm: 'yanshiyiliao', userId: OWNER, channel: CHANNEL, overrides: {} });
  const run = await harness.jobs.runThread.postThreadRoot(created);
  return harness.jobs.runStore.update(run.id, () => ({
    status: 'failed',
    failureClass: 'killed',
    lastCheckpoint: { step: 1200, path: `/home/azureuser/trainops/runs/${run.id}/output/checkpoint-1200` },
  }));
}

function threadTexts(run: RunRecord): string[] {
  return harness.slack
    .callsOf('chat.postMessage')
    .filter((call) => call.body.thread_ts === run.threadTs)
    .map((call) => String(call.body.text));
}

describe('failure buttons', () => {
  it("records I'm on it", async () => {
    const run = await failedRun();
    await harness.jobs.failures.pager.pageFailure(run, 'killed');
    expect(threadTexts(run)[0]).toContain(`<@${ONCALL}>`);

    await pressButton(ONCALL, ONCALL_ACK_ACTION, `${run.id}:1`, run);
    await harness.slack.waitFor(() => threadTexts(run).some((text) => text.includes('正在处理')));

    const page = await harness.jobs.failures.oncallStore.getPage(run.id, 1);
    expect(page?.ackedBy).toBe(ONCALL);
    expect(threadTexts(run).filter((text) => text.includes('正在处理'))).toHaveLength(1);
  });

  it('rejects a restart by another member', async () => {
    const run = await failedRun();

    const responseId = await pressButton(OTHER, RUN_ACTIONS.restart, run.id, run);
    await harness.slack.waitFor((calls) => calls.some((call) => call.method.includes(`response/${responseId}`)));

    const reply = harness.slack.calls.find((call) => call.method.includes(`response/${responseId}`))!;
    expect(reply.body.response_type).toBe('ephemeral');
    // 刘洋 reads English; the reply names the owner, on-call and the admins.
    expect(String(reply.body.text)).toContain(`<@${OWNER}>`);
    expect(String(reply.body.text)).toContain(`<@${ONCALL}>`);
    expect(String(reply.body.text)).toContain('王磊');
    expect((await harness.jobs.runStore.require(run.id)).attempt).toBe(1);
  });

  it('restarts for the owner', async () => {
    const run = await failedRun();

    await pressButton(OWNER, RUN_ACTIONS.restart, run.id, run);
    await harness.slack.waitFor(() => threadTexts(run).some((text) => text.includes('第 2 次尝试')));

    const stored = await harness.jobs.runStore.require(run.id);
    expect(stored.status).toBe('restarting');
    expect(stored.attempt).toBe(2);
    expect(threadTexts(run).find((text) => text.includes('第 2 次尝试'))).toContain('从第 1200 步的检查点 checkpoint-1200 恢复');
  });
});
