import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { translator } from '../../src/bot/i18n.js';
import { SlackChat } from '../../src/bot/slack-chat.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { Announcer } from '../../src/jobs/announcer.js';
import { systemClock } from '../../src/jobs/clock.js';
import {
  createEscalationQueue,
  escalationJobId,
  ESCALATION_QUEUE,
  OncallPager,
  ONCALL_ACK_ACTION,
  startEscalationWorker,
} from '../../src/jobs/oncall-paging.js';
import { OncallStore } from '../../src/jobs/oncall-store.js';
import { runKeys } from '../../src/jobs/redis-keys.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

let redisServer: TestRedis;
let slack: FakeSlack;
const connections: Redis[] = [];

beforeAll(async () => {
  redisServer = await startRedis();
  slack = await startFakeSlack();
});

afterAll(async () => {
  for (const connection of connections) connection.disconnect();
  await slack.stop();
  await redisServer.stop();
});

function testConfig(ackMinutes: number): Config {
  return configSchema.parse({
    slack: { channel: 'CRUNS', mode: 'console' },
    team: {
      members: [
        { id: 'UALICE', name: 'Alice', roles: ['admin', 'oncall'] },
        { id: 'UBOB', name: 'Bob', roles: ['oncall'] },
        { id: 'UCAROL', name: 'Carol', roles: ['oncall'] },
      ],
      oncall: { rotation: ['UALICE', 'UBOB', 'UCAROL'], handoverWeekday: 1, handoverTime: '10:00', rotationStart: '2026-01-05', ackMinutes },
    },
    vms: { local: { transport: 'local' } },
  });
}

function failedRun(id: string): RunRecord {
  return {
    id,
    kind: 'train',
    recipe: 'demo',
    vm: 'local',
    userId: 'UALICE',
    channel: 'CRUNS',
    threadTs: '1000.0001',
    overrides: {},
    status: 'failed',
    attempt: 1,
    attempts: [{ attempt: 1, startedAt: '2026-12-04T00:00:00Z', startedBy: 'UALICE' }],
    createdAt: '2026-12-04T00:00:00Z',
    updatedAt: '2026-12-04T00:00:00Z',
    eventOffset: 0,
    failureClass: 'killed',
  };
}

async function setUp(ackMinutes: number) {
  const prefix = uniquePrefix('oncall');
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  connections.push(redis);
  const config = testConfig(ackMinutes);
  const logger = pino({ level: 'silent' });
  const announcer = new Announcer({
    chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url }),
    redis,
    keys: runKeys(prefix),
    clock: systemClock,
    logger,
    channelIntervalMs: 0,
  });
  const queue = createEscalationQueue(redis, prefix);
  const runs = new Map<string, RunRecord>();
  const pager = new OncallPager({
    config,
    store: new OncallStore(redis, prefix),
    announcer,
    queue,
    clock: systemClock,
    logger,
    translate: translator,
    getRun: async (id) => runs.get(id),
  });
  const worker = startEscalationWorker(pager, redis, prefix, logger);
  const events = new QueueEvents(ESCALATION_QUEUE, { connection: redis.duplicate(), prefix });
  await events.waitUntilReady();
  const close = async () => {
    await worker.close();
    await events.close();
    await queue.close();
  };
  return { pager, runs, queue, events, close };
}

function threadTexts(runThread: string): string[] {
  return slack
    .callsOf('chat.postMessage')
    .filter((call) => call.body.thread_ts === runThread)
    .map((call) => String(call.body.text));
}

describe('OncallPager', () => {
  it('escalates when nobody acknowledges', async () => {
    const { pager, runs, close } = await setUp(0.01);
    const run = { ...failedRun('7'), threadTs: '7000.0001' };
    runs.set(run.id, run);

    // Whoever is on call today comes first; the escalation goes to the next in the rotation.
    await pager.pageFailure(run, 'killed');
    await slack.waitFor(() => threadTexts('7000.0001').length >= 3, 30_000);

    const texts = threadTexts('7000.0001');
    const mentioned = texts.map((text) => /<@(U[A-Z]+)>/.exec(text)?.[1]);
    expect(new Set(mentioned).size).toBe(3);
    expect(texts[1]).toContain(`<@${mentioned[0]}>`);
    const pageCall = slack.callsOf('chat.postMessage').find((call) => call.body.thread_ts === '7000.0001');
    expect(JSON.stringify(pageCall?.body.blocks)).toContain(ONCALL_ACK_ACTION);
    await close();
  });

  it('stops escalating after an acknowledgement', async () => {
    const { pager, runs, queue, events, close } = await setUp(0.01);
    const run = { ...failedRun('8'), threadTs: '8000.0001' };
    runs.set(run.id, run);

    await pager.pageFailure(run, 'evicted');
    const outcome = await pager.acknowledge('8', 1, 'UBOB');
    expect(outcome.outcome).toBe('acked');
    const again = await pager.acknowledge('8', 1, 'UCAROL');
    expect(again.outcome).toBe('already_acked');

    // The escalation job was removed, or runs and finds the acknowledgement.
    const job = await queue.getJob(escalationJobId({ runId: '8', attempt: 1, level: 0 }));
    if (job) await job.waitUntilFinished(events, 30_000);

    const texts = threadTexts('8000.0001');
    expect(texts).toHaveLength(2);
    expect(texts[1]).toContain('<@UBOB>');
    const page = [...slack.messages.values()].find((message) => message.threadTs === '8000.0001' && message.updates > 0);
    expect(page?.text).toContain('<@UBOB>');
    expect(JSON.stringify(page?.blocks)).not.toContain(ONCALL_ACK_ACTION);
    await close();
  });

  it('pages each failure once', async () => {
    const { pager, runs, close } = await setUp(60);
    const run = { ...failedRun('9'), threadTs: '9000.0001' };
    runs.set(run.id, run);

    await pager.pageFailure(run, 'killed');
    await pager.pageFailure(run, 'killed');
    expect(threadTexts('9000.0001')).toHaveLength(1);
    await close();
  });
});
