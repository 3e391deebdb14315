import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createBotApp, type BotApp } from '../../src/bot/app.js';
import { PLAN_IMPORT_MODAL } from '../../src/bot/plan-import-view.js';
import { createPlanRuntime, type PlanRuntime } from '../../src/jobs/plan-runtime.js';
import { CANARY, CHANNEL, MEMBER, startBotHarness, type BotHarness } from '../bot/bot-harness.js';
import { getFreePort } from '../support/free-port.js';

let harness: BotHarness;
let plan: PlanRuntime;
let bot: BotApp;
let endpoint: string;
const weeklyMessage = readFileSync(new URL('../fixtures/weekly-plan.txt', import.meta.url), 'utf8');

beforeAll(async () => {
  harness = await startBotHarness();
  plan = createPlanRuntime({ config: harness.config, redisUrl: harness.redis.url, chat: harness.deps.chat, runs: harness.jobs.runStore, logger: harness.logger });
  const port = await getFreePort();
  bot = createBotApp({
    botToken: CANARY.botToken,
    slackApiUrl: harness.slack.url,
    receiver: { mode: 'http', signingSecret: CANARY.signingSecret, port, host: '127.0.0.1' },
    deps: { ...harness.deps, plan: plan.ports },
    dedupe: harness.dedupe,
    logger: harness.logger,
    onHomeOpened: (userId) => plan.publishHome(userId),
  });
  await bot.start();
  endpoint = `http://127.0.0.1:${port}/slack/events`;
});

afterAll(async () => {
  await bot?.stop();
  await plan?.close();
  await harness?.stop();
});

async function post(body: string, contentType = 'application/x-www-form-urlencoded'): Promise<Response> {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', CANARY.signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': contentType, 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature },
    body,
  });
}

function slashBody(text: string, triggerId: string): string {
  return new URLSearchParams({
    team_id: 'T00000001',
    channel_id: CHANNEL,
    user_id: MEMBER,
    command: '/plan',
    text,
    api_app_id: 'A0TEST',
    response_url: `${harness.slack.url.replace(/\/api\/$/, '')}/response/${triggerId}`,
    trigger_id: triggerId,
  }).toString();
}

describe('/plan import modal', () => {
  it('opens a modal for /plan import alone', async () => {
    expect((await post(slashBody('import', '100.200.modal'))).status).toBe(200);
    await harness.slack.waitFor((calls) => calls.some((call) => call.method === 'views.open'));

    const open = harness.slack.callsOf('views.open')[0]!;
    expect(open.body.trigger_id).toBe('100.200.modal');
    const view = open.body.view as { callback_id: string; private_metadata: string; title: { text: string } };
    expect(view.callback_id).toBe(PLAN_IMPORT_MODAL);
    expect(view.private_metadata).toBe(CHANNEL);
    expect(view.title.text).toBe('导入周计划');
  });

  it('previews the submitted message', async () => {
    const payload = {
      type: 'view_submission',
      team: { id: 'T00000001' },
      user: { id: MEMBER },
      api_app_id: 'A0TEST',
      trigger_id: '300.400.submit',
      view: {
        id: 'V0MODAL1',
        hash: '1700000000.abc',
        callback_id: PLAN_IMPORT_MODAL,
        private_metadata: CHANNEL,
        state: { values: { message: { text: { type: 'plain_text_input', value: weeklyMessage } } } },
      },
    };
    const response = await post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    expect(response.status).toBe(200);

    await harness.slack.waitFor((calls) => calls.some((call) => call.method === 'chat.postEphemeral' && String(call.body.text).includes('2.1')));
    const preview = harness.slack.callsOf('chat.postEphemeral').at(-1)!;
    expect(preview.body.channel).toBe(CHANNEL);
    expect(preview.body.user).toBe(MEMBER);
    expect(String(preview.body.text)).toContain('*2.3* 完成训练 phi3.5 moe + 医疗');
    expect(JSON.stringify(preview.body.blocks)).toContain('trainops.plan.import.confirm');
  });

  it('publishes the App Home tab when opened', async () => {
    const event = {
      token: 'legacy',
      team_id: 'T00000001',
      api_app_id: 'A0TEST',
      type: 'event_callback',
      event_id: 'Ev0HOME1',
      event_time: Math.floor(Date.now() / 1000),
      event: { type: 'app_home_opened', user: MEMBER, channel: 'D0HOME', tab: 'home' },
    };
    expect((await post(JSON.stringify(event), 'application/json')).status).toBe(200);
    await harness.slack.waitFor((calls) => calls.some((call) => call.method === 'views.publish' && call.body.user_id === MEMBER));

    const view = harness.slack.callsOf('views.publish').at(-1)!.body.view as { type: string; blocks: unknown[] };
    expect(view.type).toBe('home');
    expect(JSON.stringify(view.blocks)).toContain('现在没有进行中的运行。');
  });
});
