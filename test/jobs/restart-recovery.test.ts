import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SlackChat } from '../../src/bot/slack-chat.js';
import { configSchema } from '../../src/config/schema.js';
import { Announcer } from '../../src/jobs/announcer.js';
import { systemClock } from '../../src/jobs/clock.js';
import { createFailureRuntime } from '../../src/jobs/failure-runtime.js';
import { createRunQueue, runJobId } from '../../src/jobs/run-queue.js';
import { recoverRuns, type RecoveryDeps } from '../../src/jobs/run-recovery.js';
import { RunStore } from '../../src/jobs/run-store.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

let redisServer: TestRedis;
let slack: FakeSlack;
let workdir: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  redisServer = await startRedis();
  slack = await startFakeSlack();
  workdir = await mkdtemp(path.join(os.tmpdir(), 'trainops-recovery-'));
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await slack.stop();
  await redisServer.stop();
  await rm(workdir, { recursive: true, force: true });
});

async function setUp() {
  const prefix = uniquePrefix('recover');
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const config = configSchema.parse({
    redisPrefix: prefix,
    slack: { channel: 'CRUNS', mode: 'console' },
    team: { members: [{ id: 'UALICE', name: 'Alice', roles: ['admin', 'oncall'] }], oncall: { rotation: ['UALICE'] } },
    vms: { local: { transport: 'local', workdir: path.join(workdir, prefix) } },
    recipes: { demo: { kind: 'train', model: 'tiny-random-phi3', dataset: 'rows.jsonl', vm: 'local', restart: { retryOn: [] } } },
  });
  const logger = pino({ level: 'silent' });
  const store = new RunStore(redis, prefix, systemClock);
  const announcer = new Announcer({ chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url }), redis, keys: store.keys, clock: systemClock, logger, channelIntervalMs: 0 });
  const queue = createRunQueue(redis, prefix);
  const failures = createFailureRuntime({ config, redis, store, queue, announcer, hosts: new HostPool(config.vms, logger), vmControl: new AlwaysOnVmControl(), clock: systemClock, logger });
  cleanups.push(async () => {
    await failures.close();
    await queue.close();
    redis.disconnect();
  });
  const deps: RecoveryDeps = { store, queue, announcer, failureDeps: failures.failureDeps, logger };
  return { store, queue, deps };
}

describe('recoverRuns', () => {
  it('leaves old failures alone', async () => {
    const { store, deps } = await setUp();
    const run = await store.create({ kind: 'train', recipe: 'demo', vm: 'local', userId: 'UALICE', channel: 'CRUNS', overrides: {} });
    await store.update(run.id, () => ({ status: 'failed', failureClass: 'killed', endedAt: '2020-01-01T00:00:00Z' }));

    expect((await recoverRuns(deps)).failuresHandled).toEqual([]);
  });

  it('queues a restarting run without a job', async () => {
    const { store, queue, deps } = await setUp();
    const run = await store.create({ kind: 'train', recipe: 'demo', vm: 'local', userId: 'UALICE', channel: 'CRUNS', overrides: {} });
    await store.update(run.id, () => ({ status: 'failed' }));
    await store.update(run.id, () => ({ status: 'restarting', attempt: 2 }));

    const first = await recoverRuns(deps);
    const second = await recoverRuns(deps);

    expect(first.requeued).toEqual([run.id]);
    expect(second.requeued).toEqual([]);
    expect(await queue.getJob(runJobId(run.id, 2))).toBeDefined();
    expect(await queue.getJobCounts('waiting')).toMatchObject({ waiting: 1 });
  });

  it('leaves a run with a waiting job alone', async () => {
    const { store, queue, deps } = await setUp();
    const run = await store.create({ kind: 'train', recipe: 'demo', vm: 'local', userId: 'UALICE', channel: 'CRUNS', overrides: {} });
    await queue.add('demo@local', { runId: run.id, attempt: 1 }, { jobId: runJobId(run.id, 1) });

    expect((await recoverRuns(deps)).requeued).toEqual([]);
  });

  it('posts a missing failure report once', async () => {
    const { store, deps } = await setUp();
    const run = await store.create({ kind: 'train', recipe: 'demo', vm: 'local', userId: 'UALICE', channel: 'CRUNS', overrides: {} });
    await store.setThreadTs(run.id, '900.0001');
    await store.update(run.id, () => ({ status: 'failed', failureClass: 'data_error', failureMessage: 'missing column "answer"', exitCode: 1, endedAt: new Date().toISOString() }));

    const first = await recoverRuns(deps);
    const second = await recoverRuns(deps);

    expect(first.failuresHandled).toEqual([run.id]);
    expect(second.failuresHandled).toEqual([]);
    const posts = slack.callsOf('chat.postMessage').filter((call) => call.body.thread_ts === '900.0001');
    expect(String(posts[0]?.body.text)).toContain('数据错误');
    expect(String(posts[0]?.body.text)).toContain('answer');
    // The report and the on-call page, each once.
    expect(posts).toHaveLength(2);
  });
});
