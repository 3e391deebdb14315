/**
 * Trainer failures end to end: the trainer killed after a checkpoint, a forced NaN loss,
 * and a data file missing a column, each against real Redis, sshd and the trainer.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { runJobId } from '../../src/jobs/run-queue.js';
import { AUTO_RESTART_ACTOR } from '../../src/jobs/restart-policy.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import {
  countLaunches,
  createRun,
  faultConfig,
  ONCALL,
  readEvents,
  runDirOn,
  startFaultRuntime,
  threadReplies,
  waitForRun,
  writeRowsWithout,
} from './fault-harness.js';

/** Each case starts the trainer once or twice, which can take minutes on a busy machine, beyond vitest's 120 s default. */
const FAULT_TEST_TIMEOUT_MS = 300_000;

describe('trainer failures', () => {
  let redis: TestRedis;
  let sshd: TestSshd;
  let slack: FakeSlack;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    [redis, sshd, slack] = await Promise.all([startRedis(), startSshd(), startFakeSlack()]);
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), sshd?.stop(), slack?.stop()]);
  });

  it('restarts a killed trainer from its checkpoint', async () => {
    const config = faultConfig({ redis, sshd });
    const { runtime, close } = startFaultRuntime(config, redis, slack);
    cleanups.push(close);
    const run = await createRun(runtime, 'gpu1');
    runtime.startWorkers();

    const checkpointed = await waitForRun(runtime, run.id, (current) => (current.lastCheckpoint?.step ?? 0) >= 5);
    // The pid file holds the wrapper shell; its child is the trainer (env execs python).
    const runDir = runDirOn(config, 'gpu1', run.id);
    const wrapperPid = (await readFile(path.join(runDir, 'pid'), 'utf8')).trim();
    const trainerPid = Number(execFileSync('pgrep', ['-P', wrapperPid], { encoding: 'utf8' }).trim().split('\n')[0]);
    process.kill(trainerPid, 'SIGKILL');

    const ended = await waitForRun(runtime, run.id, (current) => current.attempt === 2 && ['succeeded', 'failed', 'lost'].includes(current.status));

    expect(ended.status).toBe('succeeded');
    expect(ended.attempts[0]?.failureClass).toBe('killed');
    expect(ended.attempts[1]?.startedBy).toBe(AUTO_RESTART_ACTOR);
    expect(await countLaunches(config, 'gpu1', run.id)).toBe(2);

    // Resumed at the checkpoint recorded when the trainer died, and counting on from it.
    const resumeStep = Number(/checkpoint-(\d+)$/.exec(ended.attempts[1]?.resumedFrom ?? '')?.[1]);
    expect(resumeStep).toBeGreaterThanOrEqual(checkpointed.lastCheckpoint!.step);
    const events = await readEvents(config, 'gpu1', run.id);
    const starts = events.flatMap((event, index) => (event.type === 'start' ? [index] : []));
    expect(starts).toHaveLength(2);
    expect(events[starts[1]!]?.resumed_from).toMatch(new RegExp(`checkpoint-${resumeStep}$`));
    const firstResumedStep = events.slice(starts[1]!).find((event) => event.type === 'step');
    expect(firstResumedStep?.step).toBe(resumeStep + 1);

    const replies = threadReplies(slack, run);
    const report = replies.find((text) => text.includes('第 1 次尝试失败'));
    expect(report).toContain('进程被信号终止');
    expect(report).toContain('137');
    expect(replies.filter((text) => text.includes(`从第 ${resumeStep} 步的检查点 checkpoint-${resumeStep} 恢复`))).toHaveLength(1);
    expect(replies.some((text) => ONCALL.some((id) => text.includes(`<@${id}>`)))).toBe(false);
  }, FAULT_TEST_TIMEOUT_MS);

  it('reports a forced NaN as diverged', async () => {
    const config = faultConfig({ redis, sshd });
    const { runtime, close } = startFaultRuntime(config, redis, slack);
    cleanups.push(close);
    const run = await createRun(runtime, 'gpu1', { nan_at: 3 });
    runtime.startWorkers();

    const ended = await waitForRun(runtime, run.id, (current) => current.status === 'failed');
    // The failure report also mentions people, so wait for the on-call page itself.
    await slack.waitFor(() => threadReplies(slack, run).some((text) => text.includes('不会自动重启')), 30_000);

    expect(ended.failureClass).toBe('diverged');
    expect(ended.attempt).toBe(1);
    expect(await runtime.runQueue.getJob(runJobId(run.id, 2))).toBeUndefined();
    const replies = threadReplies(slack, run);
    expect(replies.find((text) => text.includes('第 1 次尝试失败'))).toContain('训练发散');
    expect(replies.some((text) => text.includes('不会自动重启'))).toBe(true);
  }, FAULT_TEST_TIMEOUT_MS);

  it('names the missing column of a data error', async () => {
    const dataDir = path.join(sshd.workdir, uniquePrefix('data'));
    await mkdir(dataDir, { recursive: true });
    const dataset = path.join(dataDir, 'rows.jsonl');
    await writeRowsWithout('response (content)', dataset);
    const config = faultConfig({ redis, sshd, dataset });
    const { runtime, close } = startFaultRuntime(config, redis, slack);
    cleanups.push(close);
    const run = await createRun(runtime, 'gpu1');
    runtime.startWorkers();

    const ended = await waitForRun(runtime, run.id, (current) => current.status === 'failed');
    await slack.waitFor(() => threadReplies(slack, run).some((text) => text.includes('第 1 次尝试失败')), 30_000);

    expect(ended.failureClass).toBe('data_error');
    const report = threadReplies(slack, run).find((text) => text.includes('第 1 次尝试失败'));
    expect(report).toContain('数据错误');
    expect(report).toContain('response (content)');
    const events = await readEvents(config, 'gpu1', run.id);
    expect(events.at(-1)?.error?.type).toBe('data_error');
  }, FAULT_TEST_TIMEOUT_MS);
});
