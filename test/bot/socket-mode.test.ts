import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createBotApp, type BotApp } from '../../src/bot/app.js';
import { CANARY, CHANNEL, MEMBER, slackBodies, startBotHarness, type BotHarness } from './bot-harness.js';
import { startSocketModeServer, type SocketModeServer } from './socket-mode-server.js';

let harness: BotHarness;
let socketServer: SocketModeServer;
let bot: BotApp;

beforeAll(async () => {
  harness = await startBotHarness();
  socketServer = await startSocketModeServer();
  bot = createBotApp({
    botToken: CANARY.botToken,
    slackApiUrl: harness.slack.url,
    receiver: { mode: 'socket', appToken: CANARY.appToken, socketApiUrl: socketServer.apiUrl },
    deps: harness.deps,
    dedupe: harness.dedupe,
    logger: harness.logger,
  });
  await bot.start();
  await socketServer.connected();
});

afterAll(async () => {
  await bot?.stop();
  await socketServer?.stop();
  await harness?.stop();
});

function slashEnvelope(envelopeId: string, text: string): object {
  return {
    envelope_id: envelopeId,
    type: 'slash_commands',
    accepts_response_payload: true,
    payload: {
      token: 'legacy-verification-token',
      team_id: 'T00000001',
      team_domain: 'team',
      channel_id: CHANNEL,
      channel_name: 'trainops',
      user_id: MEMBER,
      user_name: 'chenchen',
      command: '/train',
      text,
      api_app_id: 'A0TEST',
      response_url: `${harness.slack.url.replace(/\/api\/$/, '')}/response/${envelopeId}`,
      trigger_id: `trigger-${envelopeId}`,
    },
  };
}

const ackOf = (envelopeId: string) => (frame: unknown) => (frame as { envelope_id?: string }).envelope_id === envelopeId;

describe('Socket Mode receiver', () => {
  it('acks a slash command envelope and queues the run', async () => {
    socketServer.send(slashEnvelope('env-1', 'phi35moe-medical bits=4'));

    await socketServer.waitForFrame(ackOf('env-1'));
    await harness.slack.waitFor((calls) => calls.some((call) => call.method === 'chat.postMessage'));

    const runs = await harness.jobs.runStore.listRecent(10);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ recipe: 'phi35moe-medical', vm: 'xunlian', overrides: { bits: '4' }, status: 'queued' });
  });

  it('makes one run when an envelope is delivered again', async () => {
    const envelope = slashEnvelope('env-2', 'medical-phi4 在 yanshi');
    socketServer.send(envelope);
    await socketServer.waitForFrame(ackOf('env-2'));
    socketServer.send(envelope);
    await harness.waitForLog('repeated Slack delivery ignored');

    const runs = await harness.jobs.runStore.listRecent(10);
    expect(runs.filter((run) => run.vm === 'yanshi')).toHaveLength(1);
  });

  it('runs a command typed as a reply in the run thread', async () => {
    const [run] = (await harness.jobs.runStore.listRecent(10)).filter((candidate) => candidate.vm === 'xunlian');
    expect(run?.threadTs).toBeDefined();

    socketServer.send({
      envelope_id: 'env-3',
      type: 'events_api',
      accepts_response_payload: false,
      payload: {
        token: 'legacy-verification-token',
        team_id: 'T00000001',
        api_app_id: 'A0TEST',
        type: 'event_callback',
        event_id: 'Ev0THREAD1',
        event_time: Math.floor(Date.now() / 1000),
        event: { type: 'message', channel: CHANNEL, user: MEMBER, text: 'status', ts: '1796400000.000100', thread_ts: run!.threadTs, channel_type: 'channel' },
      },
    });

    await socketServer.waitForFrame(ackOf('env-3'));
    await harness.slack.waitFor((calls) => calls.some((call) => call.method === 'chat.postEphemeral'));
    const reply = harness.slack.callsOf('chat.postEphemeral')[0]!;
    expect(reply.body).toMatchObject({ channel: CHANNEL, user: MEMBER, thread_ts: run!.threadTs });
    expect(String(reply.body.text)).toContain(`运行 #${run!.id}`);
  });

  it('never logs or posts a secret', () => {
    const logs = harness.logLines.join('');
    const bodies = slackBodies(harness.slack);
    for (const secret of Object.values(CANARY)) {
      expect(logs).not.toContain(secret);
      expect(bodies).not.toContain(secret);
    }
  });
});
