/**
 * The bot itself dies: worker processes killed with SIGKILL mid-run, a run that ends
 * while no worker is alive, and two workers competing for the same runs. Workers run
 * as child processes (test/fixtures/run-worker-process.ts) so they can be killed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { Config } from '../../src/config/schema.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, stopChild, type TestRedis } from '../support/redis.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import {
  ANNOUNCER_OPTIONS,
  countLaunches,
  createRun,
  faultConfig,
  readEvents,
  REPO,
  runDirOn,
  startFaultRuntime,
  threadReplies,
  waitForRun,
  WORKER_OPTIONS,
} from './fault-harness.js';

/** Each case starts the trainer once or twice, which can take minutes on a busy machine, beyond vitest's 120 s default. */
const FAULT_TEST_TIMEOUT_MS = 300_000;

describe('worker crashes', () => {
  let redis: TestRedis;
  let sshd: TestSshd;
  let slack: FakeSlack;
  const children: ChildProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    [redis, sshd, slack] = await Promise.all([startRedis(), startSshd(), startFakeSlack()]);
  });

  afterEach(async () => {
    for (const child of children.splice(0)) await stopChild(child);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), sshd?.stop(), slack?.stop()]);
  });

  /** Starts a worker process and resolves once it listens. */
  async function startWorkerProcess(config: Config, queueName: string): Promise<ChildProcess> {
    // node with the tsx loader, not the tsx CLI, so SIGKILL reaches the worker itself.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(REPO, 'test/fixtures/run-worker-process.ts'),
        JSON.stringify({ config, redisUrl: redis.url, slackUrl: slack.url, queueName, worker: WORKER_OPTIONS, announcer: ANNOUNCER_OPTIONS }),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`worker process exited with ${code} before it was ready`)));
    });
    return child;
  }

  async function killWorker(child: ChildProcess): Promise<void> {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
  }

  function progressReplies(run: RunRecord): string[] {
    return threadReplies(slack, run).filter((text) => /^步数 \d+\//.test(text));
  }

  it('recovers a run that ended while no worker ran', async () => {
    const config = faultConfig({ redis, sshd });
    // The test process only creates the run; the workers are child processes.
    const { runtime, close, queueName } = startFaultRuntime(config, redis, slack);
    cleanups.push(close);
    const run = await createRun(runtime, 'gpu1');

    const first = await startWorkerProcess(config, queueName);
    await waitForRun(runtime, run.id, (current) => (current.lastCheckpoint?.step ?? 0) >= 5);
    await killWorker(first);

    // With no worker alive, the trainer dies too: the run ends unseen.
    const runDir = runDirOn(config, 'gpu1', run.id);
    const wrapperPid = (await readFile(path.join(runDir, 'pid'), 'utf8')).trim();
    const trainerPid = Number(execFileSync('pgrep', ['-P', wrapperPid], { encoding: 'utf8' }).trim().split('\n')[0]);
    process.kill(trainerPid, 'SIGKILL');
    await waitForFile(path.join(runDir, 'exit_code'));

    // Two new workers compete for the stalled job and the restart.
    await Promise.all([startWorkerProcess(config, queueName), startWorkerProcess(config, queueName)]);
    const ended = await waitForRun(runtime, run.id, (current) => current.attempt >= 2 && ['succeeded', 'failed', 'lost'].includes(current.status));

    expect(ended.status).toBe('succeeded');
    expect(ended.attempt).toBe(2);
    expect(ended.attempts[0]?.failureClass).toBe('killed');
    expect(await countLaunches(config, 'gpu1', run.id)).toBe(2);

    const replies = threadReplies(slack, run);
    expect(replies.filter((text) => text.includes('第 1 次尝试失败'))).toHaveLength(1);
    expect(replies.filter((text) => text.includes('自动重启'))).toHaveLength(1);
    expect(replies.filter((text) => text.startsWith('✅'))).toHaveLength(1);
    // Steps written while no worker ran are reported once: a backlog may be merged into its
    // newest reply, but no reply repeats and the last one shows the final step.
    const steps = (await readEvents(config, 'gpu1', run.id)).filter((event) => event.type === 'step');
    const replySteps = progressReplies(run).map((text) => Number(/^步数 (\d+)/.exec(text)?.[1]));
    expect(new Set(progressReplies(run)).size).toBe(progressReplies(run).length);
    expect(replySteps.length).toBeLessThanOrEqual(steps.length);
    expect(replySteps.at(-1)).toBe(ended.step);
  }, FAULT_TEST_TIMEOUT_MS);

  it('follows each run once with two workers', async () => {
    const config = faultConfig({ redis, sshd, hyperparameters: { max_steps: 10 } });
    const { runtime, close, queueName } = startFaultRuntime(config, redis, slack);
    cleanups.push(close);
    const runs = [await createRun(runtime, 'gpu1'), await createRun(runtime, 'gpu1')];

    await Promise.all([startWorkerProcess(config, queueName), startWorkerProcess(config, queueName)]);
    const ended = await Promise.all(runs.map((run) => waitForRun(runtime, run.id, (current) => ['succeeded', 'failed', 'lost'].includes(current.status))));

    for (const [index, run] of runs.entries()) {
      // The failure fields are in the comparison so a failure shows its class and message.
      expect({ status: ended[index]?.status, failureClass: ended[index]?.failureClass, failureMessage: ended[index]?.failureMessage }).toEqual({
        status: 'succeeded',
        failureClass: undefined,
        failureMessage: undefined,
      });
      expect(await countLaunches(config, 'gpu1', run.id)).toBe(1);
      // One follower per run: its replies never repeat or go back, and end at the last step.
      const replySteps = progressReplies(run).map((text) => Number(/^步数 (\d+)/.exec(text)?.[1]));
      expect(replySteps).toEqual([...new Set(replySteps)].sort((a, b) => a - b));
      expect(replySteps.at(-1)).toBe(10);
      expect(threadReplies(slack, run).filter((text) => text.startsWith('✅'))).toHaveLength(1);
    }
  }, FAULT_TEST_TIMEOUT_MS);
});

async function waitForFile(filePath: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await readFile(filePath);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${filePath} did not appear within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
