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

    // The first delivery may still be creating its run when the repeat is dropped.
    const yanshiRuns = async () => (await harness.jobs.runStore.listRecent(10)).filter((run) => run.vm === 'yanshi');
    await expect.poll(async () => (await yanshiRuns()).length).toBe(1);
    await expect.poll(async () => (await yanshiRuns())[0]?.threadTs).toBeDefined();
    expect(await yanshiRuns()).toHaveLength(1);
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

  it('runs a command from an @mention', async () => {
    socketServer.send({
      envelope_id: 'env-4',
      type: 'events_api',
      accepts_response_payload: false,
      payload: {
        token: 'legacy-verification-token',
        team_id: 'T00000001',
        api_app_id: 'A0TEST',
        type: 'event_callback',
        event_id: 'Ev0MENTION1',
        event_time: Math.floor(Date.now() / 1000),
        event: { type: 'app_mention', channel: CHANNEL, user: MEMBER, text: '<@UBOT000001> train medical-phi4 在 guanzongphi4', ts: '1796400000.000200' },
      },
    });

    await socketServer.waitForFrame(ackOf('env-4'));
    await harness.slack.waitFor((calls) => calls.some((call) => call.method === 'chat.postEphemeral' && String(call.body.text).includes('guanzongphi4')));
    const runs = await harness.jobs.runStore.listRecent(10);
    expect(runs.filter((run) => run.vm === 'guanzongphi4')).toHaveLength(1);
  });

  it('rejects a cancel button from someone else', async () => {
    const [run] = (await harness.jobs.runStore.listRecent(10)).filter((candidate) => candidate.vm === 'guanzongphi4');
    socketServer.send({
      envelope_id: 'env-5',
      type: 'interactive',
      accepts_response_payload: false,
      payload: {
        type: 'block_actions',
        team: { id: 'T00000001', domain: 'team' },
        user: { id: 'U01LIUYANG', username: 'liuyang', team_id: 'T00000001' },
        api_app_id: 'A0TEST',
        token: 'legacy-verification-token',
        container: { type: 'message', message_ts: run!.threadTs, channel_id: CHANNEL, is_ephemeral: false },
        trigger_id: 'trigger-env-5',
        channel: { id: CHANNEL, name: 'trainops' },
        message: { type: 'message', ts: run!.threadTs, text: 'root' },
        response_url: `${harness.slack.url.replace(/\/api\/$/, '')}/response/env-5`,
        actions: [{ type: 'button', action_id: 'run_cancel', block_id: 'run_actions', value: run!.id, action_ts: '1796400001.000300' }],
      },
    });

    await socketServer.waitForFrame(ackOf('env-5'));
    await harness.slack.waitFor((calls) => calls.some((call) => call.method.includes('response/env-5')));
    const reply = harness.slack.calls.find((call) => call.method.includes('response/env-5'))!;
    expect(String(reply.body.text)).toBe('Only the person who started the run, on-call or an admin may do this: 陈晨、王磊、李娜.');
    expect((await harness.jobs.runStore.get(run!.id))?.status).toBe('queued');
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
