import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SlackChat } from '../../src/bot/slack-chat.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { Announcer } from '../../src/jobs/announcer.js';
import { systemClock } from '../../src/jobs/clock.js';
import { createFailureRuntime, type FailureRuntime } from '../../src/jobs/failure-runtime.js';
import { AUTO_RESTART_ACTOR } from '../../src/jobs/restart-policy.js';
import { handleRunFailure } from '../../src/jobs/run-failure.js';
import { createRunQueue, runJobId, type RunQueue } from '../../src/jobs/run-queue.js';
import { restartRun } from '../../src/jobs/run-restart.js';
import { RunStore } from '../../src/jobs/run-store.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

let redisServer: TestRedis;
let slack: FakeSlack;
let workdir: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  redisServer = await startRedis();
  slack = await startFakeSlack();
  workdir = await mkdtemp(path.join(os.tmpdir(), 'trainops-failure-'));
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await slack.stop();
  await redisServer.stop();
  await rm(workdir, { recursive: true, force: true });
});

function testConfig(prefix: string, vmWorkdir: string, restart: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    redisPrefix: prefix,
    slack: { channel: 'CRUNS', mode: 'console' },
    team: {
      members: [
        { id: 'UALICE', name: 'Alice', roles: ['admin', 'oncall'] },
        { id: 'UBOB', name: 'Bob', roles: ['oncall'] },
        { id: 'UCAROL', name: 'Carol', roles: ['member'] },
      ],
      oncall: { rotation: ['UALICE', 'UBOB'], ackMinutes: 60 },
    },
    vms: { local: { transport: 'local', workdir: vmWorkdir } },
    recipes: {
      demo: { kind: 'train', model: 'tiny-random-phi3', dataset: 'rows.jsonl', vm: 'local', restart: { waitSeconds: 0, ...restart } },
    },
  });
}

interface Harness {
  config: Config;
  store: RunStore;
  queue: RunQueue;
  failures: FailureRuntime;
}

async function setUp(restart: Record<string, unknown> = {}): Promise<Harness> {
  const prefix = uniquePrefix('fail');
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  // Run ids restart at 1 under each prefix, so each harness gets its own VM workdir.
  const config = testConfig(prefix, path.join(workdir, prefix), restart);
  const logger = pino({ level: 'silent' });
  const store = new RunStore(redis, prefix, systemClock);
  const announcer = new Announcer({
    chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url }),
    redis,
    keys: store.keys,
    clock: systemClock,
    logger,
    channelIntervalMs: 0,
  });
  const queue = createRunQueue(redis, prefix);
  const failures = createFailureRuntime({
    config,
    redis,
    store,
    queue,
    announcer,
    hosts: new HostPool(config.vms, logger),
    vmControl: new AlwaysOnVmControl(),
    clock: systemClock,
    logger,
  });
  cleanups.push(async () => {
    await failures.close();
    await queue.close();
    redis.disconnect();
  });
  return { config, store, queue, failures };
}

/** Creates a run that reached `running`, with a thread and a run directory holding checkpoints and a log. */
async function runningRun(harness: Harness, threadTs: string, checkpoints: number[] = [5, 10]): Promise<RunRecord> {
  const run = await harness.store.create({ kind: 'train', recipe: 'demo', vm: 'local', userId: 'UCAROL', channel: 'CRUNS', overrides: { lr: 0.001 } });
  await harness.store.setThreadTs(run.id, threadTs);
  const runDir = path.join(harness.config.vms.local!.workdir, 'runs', run.id);
  for (const step of checkpoints) await mkdir(path.join(runDir, 'output', `checkpoint-${step}`), { recursive: true });
  await writeFile(path.join(runDir, 'train.log'), Array.from({ length: 40 }, (_, index) => `log line ${index + 1}`).join('\n') + '\n');
  const last = checkpoints.at(-1);
  return harness.store.update(run.id, () => ({
    status: 'running',
    ...(last === undefined ? {} : { lastCheckpoint: { step: last, path: path.join(runDir, 'output', `checkpoint-${last}`) } }),
  }));
}

function threadCalls(threadTs: string) {
  return slack.callsOf('chat.postMessage').filter((call) => call.body.thread_ts === threadTs);
}

describe('handleRunFailure', () => {
  it('restarts a killed run from its checkpoint', async () => {
    const harness = await setUp();
    const run = await runningRun(harness, '100.0001');

    const outcome = await handleRunFailure(harness.failures.failureDeps, {
      runId: run.id,
      attempt: 1,
      endEvent: null,
      exitCode: 137,
      hostReachable: true,
    });

    expect(outcome.handled).toBe(true);
    if (!outcome.handled) return;
    expect(outcome.classification.failureClass).toBe('killed');
    expect(outcome.restart?.outcome).toBe('restarted');
    expect(outcome.paged).toBe(false);

    const stored = await harness.store.require(run.id);
    expect(stored.status).toBe('restarting');
    expect(stored.attempt).toBe(2);
    expect(stored.resumeFrom).toMatch(/checkpoint-10$/);
    expect(stored.attempts[0]?.failureClass).toBe('killed');
    expect(stored.attempts[1]?.startedBy).toBe(AUTO_RESTART_ACTOR);
    expect(await harness.queue.getJob(runJobId(run.id, 2))).toBeDefined();

    const texts = threadCalls('100.0001').map((call) => String(call.body.text));
    expect(texts[0]).toContain('进程被信号终止');
    expect(texts[0]).toContain('137');
    expect(texts[0]).toContain('SIGKILL');
    expect(texts[0]).toContain('第 10 步');
    expect(JSON.stringify(threadCalls('100.0001')[0]?.body.blocks)).toContain('log line 40');
    expect(JSON.stringify(threadCalls('100.0001')[0]?.body.blocks)).not.toContain('log line 20\\n');
    expect(texts[1]).toContain('从第 10 步的检查点 checkpoint-10 恢复');
    expect(texts[1]).toContain('第 2 次尝试');
  });

  it('pages on-call for a diverged run', async () => {
    const harness = await setUp();
    const run = await runningRun(harness, '101.0001');

    const outcome = await handleRunFailure(harness.failures.failureDeps, {
      runId: run.id,
      attempt: 1,
      endEvent: { status: 'failed', step: 7, error: { type: 'diverged', message: 'loss is nan at step 7' } },
      exitCode: 1,
      hostReachable: true,
    });

    expect(outcome.handled && outcome.classification.failureClass).toBe('diverged');
    expect(outcome.handled && outcome.paged).toBe(true);
    const stored = await harness.store.require(run.id);
    expect(stored.status).toBe('failed');
    expect(stored.attempt).toBe(1);
    expect(await harness.queue.getJob(runJobId(run.id, 2))).toBeUndefined();

    const texts = threadCalls('101.0001').map((call) => String(call.body.text));
    expect(texts[0]).toContain('训练发散');
    expect(texts[0]).toContain('loss is nan at step 7');
    expect(texts[1]).toMatch(/<@U(ALICE|BOB)>/);
    expect(texts[1]).toContain('不会自动重启');
  });

  it('pages when the restart budget is used', async () => {
    const harness = await setUp({ maxAutoRestarts: 1 });
    const run = await runningRun(harness, '102.0001');

    await handleRunFailure(harness.failures.failureDeps, { runId: run.id, attempt: 1, endEvent: null, exitCode: 137, hostReachable: true });
    await harness.store.update(run.id, () => ({ status: 'running' }));
    const second = await handleRunFailure(harness.failures.failureDeps, { runId: run.id, attempt: 2, endEvent: null, exitCode: 137, hostReachable: true });

    expect(second.handled && second.decision).toMatchObject({ restart: false, reason: 'budget_exhausted' });
    expect(second.handled && second.paged).toBe(true);
    const texts = threadCalls('102.0001').map((call) => String(call.body.text));
    expect(texts.at(-1)).toContain('自动重启次数已用完（1 次）');
  });

  it('ignores a repeated call', async () => {
    const harness = await setUp();
    const run = await runningRun(harness, '103.0001');
    const input = { runId: run.id, attempt: 1, endEvent: null, exitCode: 137, hostReachable: true };

    await handleRunFailure(harness.failures.failureDeps, input);
    const again = await handleRunFailure(harness.failures.failureDeps, input);

    expect(again).toEqual({ handled: false, reason: 'stale_attempt' });
    expect((await harness.store.require(run.id)).attempt).toBe(2);
    expect(threadCalls('103.0001')).toHaveLength(2);
  });

  it('marks an unreachable run lost', async () => {
    const harness = await setUp({ retryOn: [] });
    const run = await runningRun(harness, '104.0001');

    const outcome = await handleRunFailure(harness.failures.failureDeps, { runId: run.id, attempt: 1, endEvent: null, exitCode: null, hostReachable: false });

    expect(outcome.handled && outcome.classification.failureClass).toBe('unreachable');
    expect((await harness.store.require(run.id)).status).toBe('lost');
    expect(String(threadCalls('104.0001')[0]?.body.text)).toContain('主机连接不上');
    expect(String(threadCalls('104.0001')[0]?.body.text)).toContain('退出码：未知');
  });
});

describe('restartRun', () => {
  it('resumes from a chosen step', async () => {
    const harness = await setUp();
    const run = await runningRun(harness, '110.0001', [5, 10, 15]);
    await harness.store.update(run.id, () => ({ status: 'failed' }));

    const outcome = await restartRun(harness.failures.failureDeps, { runId: run.id, from: { kind: 'step', step: 5 }, actor: 'UBOB' });

    expect(outcome.outcome).toBe('restarted');
    const stored = await harness.store.require(run.id);
    expect(stored.resumeFrom).toMatch(/checkpoint-5$/);
    expect(stored.attempts[1]?.startedBy).toBe('UBOB');
    expect(String(threadCalls('110.0001')[0]?.body.text)).toContain('从第 5 步的检查点 checkpoint-5 恢复');
  });

  it('names the nearest step when missing', async () => {
    const harness = await setUp();
    const run = await runningRun(harness, '111.0001', [5, 10]);
    await harness.store.update(run.id, () => ({ status: 'failed' }));

    const outcome = await restartRun(harness.failures.failureDeps, { runId: run.id, from: { kind: 'step', step: 8 }, actor: 'UBOB' });

    expect(outcome).toMatchObject({ outcome: 'invalid_point', error: 'step_not_found', available: [5, 10], nearest: 5 });
    expect((await harness.store.require(run.id)).attempt).toBe(1);
  });

  it('restarts from scratch', async () => {
    const harness = await setUp();
    const run = await runningRun(harness, '112.0001');
    await harness.store.update(run.id, () => ({ status: 'cancelled' }));

    const outcome = await restartRun(harness.failures.failureDeps, { runId: run.id, from: { kind: 'scratch' }, actor: 'UCAROL' });

    expect(outcome.outcome).toBe('restarted');
    const stored = await harness.store.require(run.id);
    expect(stored.resumeFrom).toBe('scratch');
    expect(stored.lastCheckpoint).toBeUndefined();
  });

  it('shows the restart in the root', async () => {
    const harness = await setUp();
    const root = await harness.failures.failureDeps.announcer.post(uniquePrefix('root'), { channel: 'CRUNS', text: 'root' });
    const run = await runningRun(harness, root.ts);
    await harness.store.update(run.id, () => ({
      status: 'cancelled',
      step: 12,
      maxSteps: 40,
      loss: 1.5,
      stepRateOrigin: { step: 1, time: '2026-12-07T09:00:00Z' },
      lastStepTime: '2026-12-07T09:11:00Z',
    }));

    const outcome = await restartRun(harness.failures.failureDeps, { runId: run.id, from: { kind: 'latest' }, actor: 'UCAROL' });
    const rootBlocks = (): string => JSON.stringify(slack.messages.get(`CRUNS:${root.ts}`)?.blocks ?? []);
    await slack.waitFor(() => rootBlocks().includes('*恢复*：正在从第 10 步的检查点 checkpoint-10 恢复'));

    expect(outcome.outcome).toBe('restarted');
    expect(rootBlocks()).toContain('正在重启');
    expect(rootBlocks()).toContain('*步数*：10 / 40');
    expect(rootBlocks()).toContain('*预计剩余*：—');
    expect(rootBlocks()).toContain('*损失*：—');
    const stored = await harness.store.require(run.id);
    expect(stored.step).toBeUndefined();
    expect(stored.loss).toBeUndefined();
    expect(stored.stepRateOrigin).toBeUndefined();
    expect(stored.lastStepTime).toBeUndefined();
    expect(stored.maxSteps).toBe(40);
  });

  it('rejects a running run', async () => {
    const harness = await setUp();
    const run = await runningRun(harness, '113.0001');

    const outcome = await restartRun(harness.failures.failureDeps, { runId: run.id, from: { kind: 'latest' }, actor: 'UCAROL' });

    expect(outcome.outcome).toBe('not_ended');
  });

  it('starts one attempt for two clicks', async () => {
    const harness = await setUp();
    const run = await runningRun(harness, '114.0001');
    await harness.store.update(run.id, () => ({ status: 'failed' }));

    const outcomes = await Promise.all([
      restartRun(harness.failures.failureDeps, { runId: run.id, from: { kind: 'latest' }, actor: 'UCAROL' }),
      restartRun(harness.failures.failureDeps, { runId: run.id, from: { kind: 'latest' }, actor: 'UALICE' }),
    ]);

    expect(outcomes.filter((outcome) => outcome.outcome === 'restarted')).toHaveLength(1);
    const stored = await harness.store.require(run.id);
    expect(stored.attempt).toBe(2);
    expect(stored.attempts).toHaveLength(2);
    expect(await harness.queue.getJobCounts('waiting', 'delayed')).toMatchObject({ waiting: 1 });
  });
});
