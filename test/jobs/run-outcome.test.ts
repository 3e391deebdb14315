/**
 * The final message of an ended attempt: the failure report replaces the short
 * outcome, and every path posts exactly one of them. Real Redis, the real runtime's
 * store, thread and failure handling, and the fake Slack Web API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { configSchema } from '../../src/config/schema.js';
import { systemClock } from '../../src/jobs/clock.js';
import { handleRunFailure, type RunFailureInput } from '../../src/jobs/run-failure.js';
import { announceRunEnd, recordRunEnd } from '../../src/jobs/run-outcome.js';
import type { RunRecord, RunStatus } from '../../src/jobs/run-types.js';
import type { JobsRuntime } from '../../src/jobs/runtime.js';
import type { HostPool } from '../../src/remote/host-pool.js';
import type { FakeSlack } from '../support/fake-slack.js';
import {
  createRunWithThread,
  OWNER_AND_ONCALL_TEAM,
  startLocalJobServers,
  startTestJobsRuntime,
  testLogger as logger,
  threadReplies,
  type LocalJobServers,
  type TestJobsRuntime,
} from '../support/jobs-runtime.js';
import { uniquePrefix } from '../support/redis.js';

const CHANNEL = 'CRUNS';

let servers: LocalJobServers;
let workdir: string;
let jobs: TestJobsRuntime;
let slack: FakeSlack;
let hosts: HostPool;
let runtime: JobsRuntime;

beforeAll(async () => {
  servers = await startLocalJobServers();
  workdir = await mkdtemp(path.join(os.tmpdir(), 'trainops-run-outcome-'));
  const config = configSchema.parse({
    redisPrefix: `${servers.redis.prefix}${uniquePrefix('outcome')}`,
    slack: { mode: 'console', channel: CHANNEL },
    team: OWNER_AND_ONCALL_TEAM,
    vms: { local: { transport: 'local', workdir } },
    recipes: { demo: { kind: 'train', model: 'tiny-random-phi3', dataset: 'rows.jsonl', vm: 'local', restart: { retryOn: [] } } },
  });
  jobs = startTestJobsRuntime({ config, redis: servers.redis, slack: servers.slack, announcer: { channelIntervalMs: 0 } });
  slack = servers.slack;
  runtime = jobs.runtime;
  hosts = jobs.hosts;
});

afterAll(async () => {
  await jobs?.close();
  await servers?.stop();
  await rm(workdir, { recursive: true, force: true });
});

const DATA_ERROR = { failureClass: 'data_error' as const, failureMessage: 'missing column "answer"', exitCode: 1 };
const DATA_ERROR_FACTS = {
  endEvent: { status: 'failed' as const, step: 3, error: { type: 'data_error', message: 'missing column "answer"' } },
  exitCode: 1,
  hostReachable: true,
  logTail: 'KeyError: answer',
};

/** Creates a running run with a thread root and ends it with `status`, the way the worker stores it. */
async function endedRun(status: RunStatus, patch: Partial<RunRecord>): Promise<RunRecord> {
  const rooted = await createRunWithThread(runtime, { kind: 'train', recipe: 'demo', vm: 'local', userId: 'UOWNER1', channel: CHANNEL, overrides: {} });
  const running = await runtime.runStore.update(rooted.id, () => ({ status: 'running', step: 3, loss: 2.5 }));
  return recordRunEnd({ store: runtime.runStore, clock: systemClock }, running, status, patch, logger);
}

function failureHandling(input: RunFailureInput): Promise<unknown> {
  return handleRunFailure(runtime.failures.failureDeps, input);
}

/** Returns the thread replies that end the attempt: the failure report or a short outcome, but no on-call page. */
function finalMessages(run: RunRecord): string[] {
  return threadReplies(slack, run).filter((text) => /^(❌|⚠️|🛑|✅)/.test(text));
}

describe('announceRunEnd', () => {
  it('posts the failure report as the only final message', async () => {
    const ended = await endedRun('failed', DATA_ERROR);

    await announceRunEnd({ hosts, thread: runtime.runThread, onRunFailure: failureHandling }, ended, logger, { failure: DATA_ERROR_FACTS });

    const finals = finalMessages(ended);
    expect(finals).toHaveLength(1);
    expect(finals[0]).toContain(`#${ended.id} 第 1 次尝试失败：数据错误`);
    expect(finals[0]).toContain('missing column "answer"');
    expect(threadReplies(slack, ended).some((text) => text.startsWith('❌ 训练失败'))).toBe(false);
    // Besides the report, only the on-call page.
    expect(threadReplies(slack, ended)).toHaveLength(2);
    expect(threadReplies(slack, ended)[1]).toContain('<@UONCALL1>');
  });

  it('posts nothing more when announced again', async () => {
    const ended = await endedRun('failed', DATA_ERROR);
    const deps = { hosts, thread: runtime.runThread, onRunFailure: failureHandling };

    await announceRunEnd(deps, ended, logger, { failure: DATA_ERROR_FACTS });
    await announceRunEnd(deps, await runtime.runStore.require(ended.id), logger);

    expect(finalMessages(ended)).toHaveLength(1);
    expect(threadReplies(slack, ended)).toHaveLength(2);
  });

  it('reports a lost run once', async () => {
    const ended = await endedRun('lost', { failureClass: 'unreachable', failureMessage: 'host unreachable' });

    await announceRunEnd({ hosts, thread: runtime.runThread, onRunFailure: failureHandling }, ended, logger, {
      failure: { endEvent: null, exitCode: null, hostReachable: false },
    });

    const finals = finalMessages(ended);
    expect(finals).toHaveLength(1);
    expect(finals[0]).toContain(`#${ended.id} 第 1 次尝试失联`);
    expect(threadReplies(slack, ended).some((text) => text.startsWith('⚠️ 与虚拟机'))).toBe(false);
  });

  it('posts the short outcome for a superseded attempt', async () => {
    const ended = await endedRun('failed', DATA_ERROR);
    // A restart claimed attempt 2 before failure handling of attempt 1 ran.
    await runtime.runStore.update(ended.id, () => ({ status: 'restarting', attempt: 2 }));

    await announceRunEnd({ hosts, thread: runtime.runThread, onRunFailure: failureHandling }, ended, logger, { failure: DATA_ERROR_FACTS });

    const finals = finalMessages(ended);
    expect(finals).toHaveLength(1);
    expect(finals[0]).toMatch(/^❌ 训练失败（数据错误）/);
    expect(threadReplies(slack, ended)).toHaveLength(1);
  });

  it('posts the short outcome without failure handling', async () => {
    const ended = await endedRun('failed', DATA_ERROR);

    await announceRunEnd({ hosts, thread: runtime.runThread }, ended, logger, { failure: DATA_ERROR_FACTS });

    expect(finalMessages(ended)).toEqual([expect.stringMatching(/^❌ 训练失败（数据错误）/)]);
  });

  it('posts the short outcome when failure handling throws', async () => {
    const ended = await endedRun('failed', DATA_ERROR);
    const broken = async (): Promise<unknown> => {
      throw new Error('redis went away');
    };

    await expect(announceRunEnd({ hosts, thread: runtime.runThread, onRunFailure: broken }, ended, logger)).rejects.toThrow('redis went away');

    expect(finalMessages(ended)).toEqual([expect.stringMatching(/^❌ 训练失败（数据错误）/)]);
  });

  it('posts a cancelled outcome without failure handling', async () => {
    const ended = await endedRun('cancelled', { cancelRequestedBy: 'UOWNER1', failureClass: 'cancelled' });
    const calls: RunFailureInput[] = [];
    const recording = async (input: RunFailureInput): Promise<unknown> => calls.push(input);

    await announceRunEnd({ hosts, thread: runtime.runThread, onRunFailure: recording }, ended, logger);

    expect(calls).toEqual([]);
    expect(finalMessages(ended)).toEqual(['🛑 已取消（<@UOWNER1>），停在第 3 步。']);
  });

  it('posts a succeeded outcome without failure handling', async () => {
    const ended = await endedRun('succeeded', { outputPath: '/runs/1/output' });
    const calls: RunFailureInput[] = [];
    const recording = async (input: RunFailureInput): Promise<unknown> => calls.push(input);

    await announceRunEnd({ hosts, thread: runtime.runThread, onRunFailure: recording }, ended, logger);

    expect(calls).toEqual([]);
    expect(finalMessages(ended)).toHaveLength(1);
    expect(finalMessages(ended)[0]).toMatch(/^✅ 训练完成/);
  });
});
