import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { BotApp } from '../../src/bot/app.js';
import type { DatasetUploadMessage } from '../../src/commands/dataset-upload.js';
import { postSignedRequest, slackSignature, startHttpBot } from '../support/slack-http.js';
import { CANARY, CHANNEL, MEMBER, slackBodies, startBotHarness, type BotHarness } from './bot-harness.js';

let harness: BotHarness;
let bot: BotApp;
let endpoint: string;
const sharedFiles: DatasetUploadMessage[] = [];

beforeAll(async () => {
  harness = await startBotHarness();
  ({ bot, endpoint } = await startHttpBot(harness, {
    botToken: CANARY.botToken,
    signingSecret: CANARY.signingSecret,
    onFileShare: async (message) => {
      sharedFiles.push(message);
      return true;
    },
  }));
});

afterAll(async () => {
  await bot?.stop();
  await harness?.stop();
});

function slashBody(text: string, triggerId: string, user = MEMBER): string {
  return new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: 'T00000001',
    team_domain: 'team',
    channel_id: CHANNEL,
    channel_name: 'trainops',
    user_id: user,
    user_name: 'chenchen',
    command: '/train',
    text,
    api_app_id: 'A0TEST',
    response_url: `${harness.slack.url.replace(/\/api\/$/, '')}/response/${triggerId}`,
    trigger_id: triggerId,
  }).toString();
}

async function post(body: string, headers: Record<string, string> = {}, timestamp = Math.floor(Date.now() / 1000)): Promise<Response> {
  return postSignedRequest(endpoint, body, { signingSecret: CANARY.signingSecret, timestamp, headers });
}

describe('HTTP receiver', () => {
  it('acks a signed /train and queues one run with a thread root', async () => {
    const response = await post(slashBody('medical-phi4 在 yanshiyiliao lr=1e-4 epochs=2', '111.222.aaa'));
    expect(response.status).toBe(200);

    await harness.slack.waitFor((calls) => calls.some((call) => call.method === 'chat.postMessage'));
    const runs = await harness.jobs.runStore.listRecent(10);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ recipe: 'medical-phi4', vm: 'yanshiyiliao', userId: MEMBER, channel: CHANNEL, overrides: { lr: 1e-4, epochs: 2 } });

    const root = harness.slack.callsOf('chat.postMessage')[0]!;
    expect(root.body.channel).toBe(CHANNEL);
    expect(root.body.thread_ts).toBeUndefined();
    await harness.slack.waitFor((calls) => calls.some((call) => call.method.includes('response/111.222.aaa')));
    expect((await harness.jobs.runStore.get(runs[0]!.id))?.threadTs).toBeDefined();

    const counts = await harness.jobs.runQueue.getJobCounts('waiting');
    expect(counts.waiting).toBe(1);
  });

  it('makes one run from a retried delivery', async () => {
    const body = slashBody('medical-phi4', '333.444.bbb');
    expect((await post(body)).status).toBe(200);
    expect((await post(body, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' })).status).toBe(200);
    await harness.waitForLog('repeated Slack delivery ignored');

    // The first delivery may still be creating its run when the retry is dropped.
    const plainRuns = async () =>
      (await harness.jobs.runStore.listRecent(10)).filter((run) => run.recipe === 'medical-phi4' && Object.keys(run.overrides).length === 0);
    await expect.poll(async () => (await plainRuns()).length).toBe(1);
    await harness.slack.waitFor((calls) => calls.some((call) => call.method.includes('response/333.444.bbb')));
    expect(await plainRuns()).toHaveLength(1);
  });

  it('rejects a bad signature', async () => {
    const body = slashBody('medical-phi4', '555.666.ccc');
    const timestamp = Math.floor(Date.now() / 1000);
    const response = await post(body, { 'x-slack-signature': slackSignature(body, timestamp, 'not-the-secret') }, timestamp);
    expect(response.status).toBe(401);
  });

  it('rejects a timestamp older than five minutes', async () => {
    const body = slashBody('medical-phi4', '777.888.ddd');
    const response = await post(body, {}, Math.floor(Date.now() / 1000) - 6 * 60);
    expect(response.status).toBe(401);
  });

  it('answers an unknown recipe in Chinese with the nearest name', async () => {
    const before = (await harness.jobs.runStore.listRecent(50)).length;
    expect((await post(slashBody('medical-ph14', '999.000.eee'))).status).toBe(200);
    await harness.slack.waitFor((calls) => calls.some((call) => call.method.includes('response/999.000.eee')));

    const reply = harness.slack.calls.find((call) => call.method.includes('response/999.000.eee'))!;
    expect(reply.body.response_type).toBe('ephemeral');
    expect(String(reply.body.text)).toContain('没有名为 “medical-ph14” 的训练配方');
    expect(String(reply.body.text)).toContain('`medical-phi4`');
    expect((await harness.jobs.runStore.listRecent(50)).length).toBe(before);
  });

  it('tells a non-member who may add them', async () => {
    expect((await post(slashBody('medical-phi4', '121.212.fff', 'U0STRANGER'))).status).toBe(200);
    await harness.slack.waitFor((calls) => calls.some((call) => call.method.includes('response/121.212.fff')));
    const reply = harness.slack.calls.find((call) => call.method.includes('response/121.212.fff'))!;
    expect(String(reply.body.text)).toContain('王磊');
  });

  it('never logs or posts a secret', () => {
    const logs = harness.logLines.join('');
    const bodies = slackBodies(harness.slack);
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of Object.values(CANARY)) {
      expect(logs).not.toContain(secret);
      expect(bodies).not.toContain(secret);
    }
  });

  it('passes a shared file with its comment to the upload check', async () => {
    const event = {
      type: 'message',
      subtype: 'file_share',
      user: MEMBER,
      text: '/dataset check medical-data',
      channel: CHANNEL,
      ts: '1796418154.000300',
      files: [{ name: 'rows.jsonl', url_private_download: 'http://127.0.0.1:9/files/rows.jsonl', size: 120 }],
    };
    const body = JSON.stringify({ type: 'event_callback', team_id: 'T00000001', api_app_id: 'A0TEST', event_id: 'Ev0FILE1', event_time: 1, event });

    const response = await post(body, { 'content-type': 'application/json' });
    expect(response.status).toBe(200);

    await expect.poll(() => sharedFiles.length).toBe(1);
    expect(sharedFiles[0]?.text).toBe('/dataset check medical-data');
    expect(sharedFiles[0]?.files).toEqual([{ name: 'rows.jsonl', urlPrivateDownload: 'http://127.0.0.1:9/files/rows.jsonl', size: 120 }]);
    expect(sharedFiles[0]?.userId).toBe(MEMBER);
  });
});
