/**
 * The run worker end to end: real redis-server, real sshd as the VM, the real trainer
 * on tiny-random-phi3, and the fake Slack Web API.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { SlackChat } from '../../src/bot/slack-chat.js';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { translator } from '../../src/bot/i18n.js';
import { formatDuration, formatLoss, runningTime } from '../../src/jobs/run-reporter.js';
import { enqueueRun } from '../../src/jobs/run-queue.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import { createJobsRuntime, type JobsRuntime, type JobsRuntimeDeps } from '../../src/jobs/runtime.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import { AzureVmControl } from '../../src/remote/azure-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import type { VmControl } from '../../src/remote/vm-control.js';
import { startFakeArm, staticTestCredential } from '../support/fake-arm.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, stopChild, uniquePrefix, type TestRedis } from '../support/redis.js';
import { startSshd, vmConfigFor, type TestSshd } from '../support/sshd.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const SAMPLE = path.join(REPO, 'python/trainops_trainer/samples/medical_sample.jsonl');
const PYTHON = execFileSync('bash', [path.join(REPO, 'scripts/python-env.sh')], { encoding: 'utf8' }).trim();
const CHANNEL = 'C0TRAIN01';
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Tests that run the trainer several times may need this long on a busy two-core machine. */
const E2E_TIMEOUT_MS = 300_000;
/** Short locks so a killed worker's job is re-delivered within seconds. */
const WORKER_OPTIONS: JobsRuntimeDeps['worker'] = { lockDuration: 4000, stalledInterval: 1000, pollMs: 200 };
const ANNOUNCER_OPTIONS: JobsRuntimeDeps['announcer'] = { channelIntervalMs: 20, updateIntervalMs: 100, claimTtlMs: 3000 };

describe('run worker end to end', () => {
  let redis: TestRedis;
  let sshd: TestSshd;
  let slack: FakeSlack;
  const runtimes: JobsRuntime[] = [];
  const hostPools: HostPool[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    [redis, sshd, slack] = await Promise.all([startRedis(), startSshd(), startFakeSlack()]);
  });

  afterEach(async () => {
    for (const child of children.splice(0)) await stopChild(child);
    for (const runtime of runtimes.splice(0)) await runtime.close();
    for (const pool of hostPools.splice(0)) await pool.closeAll();
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), sshd?.stop(), slack?.stop()]);
  });

  /** Run directories live under `workdir`; a fresh one per test, because run ids restart at 1 with each key prefix. */
  let workdir: string;

  function makeConfig(
    hyperparameters: Record<string, number>,
    azure?: { subscriptionId: string; resourceGroup: string; vmName: string },
    vmServer: TestSshd = sshd,
    lostAfterSeconds = 600,
  ): Config {
    workdir = path.join(vmServer.workdir, uniquePrefix('vm'));
    const input: ConfigInput = {
      redisPrefix: `${redis.prefix}${uniquePrefix('jobs')}`,
      slack: { mode: 'console', channel: CHANNEL, progressEverySeconds: 0.001 },
      team: { members: [{ id: 'U0ALICE01', name: 'Alice', roles: ['admin'] }] },
      vms: { gpu1: { ...vmConfigFor(vmServer), python: PYTHON, workdir, azure } },
      recipes: {
        demo: {
          kind: 'train',
          model: 'tiny-random-phi3',
          dataset: SAMPLE,
          hyperparameters: { logging_steps: 1, batch_size: 2, ...hyperparameters },
          overrides: { lr: { field: 'learning_rate', type: 'number', min: 0, max: 1 } },
          // Automatic restarts would move a lost run on before a test sees it.
          restart: { retryOn: [], maxAutoRestarts: 0, waitSeconds: 60 },
        },
      },
      runs: { lostAfterSeconds, pollSeconds: 0.2, maxConcurrentPerWorker: 4 },
    };
    return configSchema.parse(input);
  }

  function startRuntime(config: Config, queueName: string, vmControl: VmControl = new AlwaysOnVmControl()): JobsRuntime {
    const hosts = new HostPool(config.vms, logger);
    hostPools.push(hosts);
    const runtime = createJobsRuntime({
      config,
      redisUrl: redis.url,
      chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url, rejectRateLimitedCalls: true }),
      hosts,
      vmControl,
      logger,
      queueName,
      worker: WORKER_OPTIONS,
      announcer: ANNOUNCER_OPTIONS,
    });
    runtimes.push(runtime);
    return runtime;
  }

  async function createRun(runtime: JobsRuntime, recipe = 'demo'): Promise<RunRecord> {
    const run = await runtime.runStore.create({ kind: 'train', recipe, vm: 'gpu1', userId: 'U0ALICE01', channel: CHANNEL, overrides: { lr: 0.001 } });
    const rooted = await runtime.runThread.postThreadRoot(run);
    await enqueueRun(runtime.runQueue, rooted);
    return rooted;
  }

  async function waitForStatus(runtime: JobsRuntime, runId: string, statuses: string[], timeoutMs = 180_000): Promise<RunRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await runtime.runStore.require(runId);
      if (statuses.includes(run.status)) return run;
      if (Date.now() > deadline) throw new Error(`run #${runId} still ${run.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Waits until the worker is done with the run's job for `attempt`, final message included. */
  async function waitForJobEnd(runtime: JobsRuntime, run: RunRecord, attempt = 1, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const job = await runtime.runQueue.getJob(`run-${run.id}-a${attempt}`);
    for (let state = await job?.getState(); state !== 'completed' && state !== 'failed'; state = await job?.getState()) {
      if (Date.now() > deadline) throw new Error(`job of run #${run.id} attempt ${attempt} still ${String(state)} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Returns the thread replies that end an attempt: the failure report or a short outcome. */
  function finalMessages(run: RunRecord): string[] {
    return threadReplies(run).filter((text) => /^(❌|⚠️ #|⚠️ 与虚拟机|🛑|✅)/.test(text));
  }

  /** Returns the blocks of every chat.update of the run's thread root, in order, as JSON. */
  function rootUpdates(run: RunRecord): string[] {
    return slack
      .callsOf('chat.update')
      .filter((call) => call.status === 200 && call.body.channel === CHANNEL && call.body.ts === run.threadTs)
      .map((call) => JSON.stringify(call.body.blocks));
  }

  function threadReplies(run: RunRecord): string[] {
    return slack
      .callsOf('chat.postMessage')
      .filter((call) => call.status === 200 && call.body.channel === CHANNEL && call.body.thread_ts === run.threadTs)
      .map((call) => String(call.body.text));
  }

  /** Step numbers of the progress replies in the thread, in posting order. */
  function progressSteps(run: RunRecord): number[] {
    return threadReplies(run)
      .map((text) => /^步数 (\d+)\//.exec(text)?.[1])
      .filter((step): step is string => step !== undefined)
      .map(Number);
  }

  async function readStepEvents(runId: string): Promise<Array<{ step: number; loss: number }>> {
    const text = await readFile(path.join(workdir, 'runs', runId, 'events.jsonl'), 'utf8');
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; step: number; loss: number })
      .filter((event) => event.type === 'step');
  }

  async function countLaunches(runId: string): Promise<number> {
    const log = await readFile(path.join(workdir, 'runs', runId, 'train.log'), 'utf8');
    return log.split('\n').filter((line) => line.startsWith('=== attempt ')).length;
  }

  it('reports a run from launch to success in its thread', async () => {
    const config = makeConfig({ max_steps: 6, save_steps: 3 });
    const runtime = startRuntime(config, uniquePrefix('runs'));
    const run = await createRun(runtime);
    runtime.startWorkers();

    const ended = await waitForStatus(runtime, run.id, ['succeeded', 'failed', 'cancelled', 'lost']);
    await slack.waitFor(() => [...slack.files.values()].some((file) => file.threadTs === run.threadTs && file.content !== undefined));

    expect(ended.status).toBe('succeeded');
    expect(ended.step).toBe(6);
    expect(ended.outputPath).toBe(path.join(workdir, 'runs', run.id, 'output'));

    const steps = await readStepEvents(run.id);
    const replies = threadReplies(run);
    // A backlog of progress replies is posted as its newest one, so some steps may be skipped.
    const progress = replies.filter((text) => text.startsWith('步数 '));
    const posted = progressSteps(run);
    expect(posted.at(-1)).toBe(6);
    expect([...posted].sort((a, b) => a - b)).toEqual([...new Set(posted)]);
    for (const [index, stepNumber] of posted.entries()) {
      const event = steps.find((candidate) => candidate.step === stepNumber);
      expect(progress[index]).toContain(`损失 ${formatLoss(event?.loss ?? NaN)}`);
    }
    expect(replies.filter((text) => text.startsWith('💾'))).toHaveLength(2);

    const final = replies.find((text) => text.startsWith('✅'));
    expect(final).toContain(ended.outputPath);
    expect(final).toContain(`最终损失 ${formatLoss(steps.at(-1)?.loss ?? NaN)}`);
    expect(final).toMatch(/[▁▂▃▄▅▆▇█]{6}/);

    const chart = [...slack.files.values()].find((file) => file.threadTs === run.threadTs);
    expect(chart?.channel).toBe(CHANNEL);
    expect(chart?.content?.subarray(1, 4).toString()).toBe('PNG');

    const root = slack.messages.get(`${CHANNEL}:${run.threadTs}`);
    expect(root?.text).toContain('已完成');
    // A succeeded run cannot be restarted, so its card offers the log only.
    expect(JSON.stringify(root?.blocks)).toContain('run_logs');
    expect(JSON.stringify(root?.blocks)).not.toContain('run_restart');
    const runJson = JSON.parse(await readFile(path.join(workdir, 'runs', run.id, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect(runJson.learning_rate).toBe(0.001);
    expect(runJson.run_id).toBe(run.id);
  });

  it('re-attaches after the worker is killed mid-run', async () => {
    const config = makeConfig({ max_steps: 14, save_steps: 7, step_delay_seconds: 0.6 });
    const queueName = uniquePrefix('runs');
    const runtime = startRuntime(config, queueName);
    const run = await createRun(runtime);

    // node with the tsx loader rather than the tsx CLI, which would put the worker in a
    // grandchild that SIGKILL of the child does not reach.
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
    await slack.waitFor(() => progressSteps(run).length >= 3, 120_000);
    expect(child.exitCode).toBeNull();
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const postedAtKill = progressSteps(run);
    const stepsAtKill = postedAtKill.length;

    runtime.startWorkers();
    const ended = await waitForStatus(runtime, run.id, ['succeeded', 'failed', 'cancelled', 'lost']);

    expect(ended.status).toBe('succeeded');
    expect(stepsAtKill).toBeLessThan(14);
    expect(await countLaunches(run.id)).toBe(1);
    // The steps logged while no worker ran are one backlog, posted as its newest reply.
    // On a busy machine the first worker may already have merged a backlog too, so the
    // test checks the order, the absence of repeats and the last step.
    const posted = progressSteps(run);
    expect(posted.slice(0, stepsAtKill)).toEqual(postedAtKill);
    expect(posted.at(-1)).toBe(14);
    expect([...posted].sort((a, b) => a - b)).toEqual([...new Set(posted)]);
    expect(threadReplies(run).filter((text) => text.startsWith('✅'))).toHaveLength(1);
  }, E2E_TIMEOUT_MS);

  it('hands the run over when a worker closes', async () => {
    const config = makeConfig({ max_steps: 10, save_steps: 5, step_delay_seconds: 0.5 });
    const queueName = uniquePrefix('runs');
    const first = startRuntime(config, queueName);
    const run = await createRun(first);
    first.startWorkers();

    await slack.waitFor(() => progressSteps(run).length >= 3, 120_000);
    await first.close();
    runtimes.splice(runtimes.indexOf(first), 1);
    const stepsAtClose = progressSteps(run).length;
    const second = startRuntime(config, queueName);
    second.startWorkers();
    const ended = await waitForStatus(second, run.id, ['succeeded', 'failed', 'cancelled', 'lost']);

    expect(ended.status).toBe('succeeded');
    expect(stepsAtClose).toBeLessThan(10);
    expect(await countLaunches(run.id)).toBe(1);
    // Steps logged during the handover may be merged into their newest reply, never repeated.
    const posted = progressSteps(run);
    expect(posted).toEqual([...new Set(posted)].sort((a, b) => a - b));
    expect(posted.at(-1)).toBe(10);
    // Handing the job back is not a failed attempt, so it cannot use up the job's retries.
    expect((await second.runQueue.getJob(`run-${run.id}-a1`))?.attemptsMade ?? 0).toBeLessThanOrEqual(1);
  }, E2E_TIMEOUT_MS);

  it('reconnects after sshd restarts and resumes at the stored offset', async () => {
    const config = makeConfig({ max_steps: 12, save_steps: 6, step_delay_seconds: 0.5 });
    const runtime = startRuntime(config, uniquePrefix('runs'));
    const run = await createRun(runtime);
    runtime.startWorkers();

    await slack.waitFor(() => progressSteps(run).length >= 3, 120_000);
    await sshd.restart();
    const stepsAtRestart = progressSteps(run).length;
    const ended = await waitForStatus(runtime, run.id, ['succeeded', 'failed', 'cancelled', 'lost']);

    expect(ended.status).toBe('succeeded');
    expect(stepsAtRestart).toBeLessThan(12);
    expect(await countLaunches(run.id)).toBe(1);
    // Steps read after the reconnect may be merged into their newest reply, never repeated;
    // the stored offset below proves that every event was applied.
    const posted = progressSteps(run);
    expect(posted).toEqual([...new Set(posted)].sort((a, b) => a - b));
    expect(posted.at(-1)).toBe(12);
    const events = await readFile(path.join(workdir, 'runs', run.id, 'events.jsonl'));
    expect(ended.eventOffset).toBe(events.length);
  }, E2E_TIMEOUT_MS);

  it('cancels a run, shows its log and restarts it from its checkpoint', async () => {
    const config = makeConfig({ max_steps: 10, save_steps: 2, step_delay_seconds: 0.5 });
    const runtime = startRuntime(config, uniquePrefix('runs'));
    const run = await createRun(runtime);
    runtime.startWorkers();

    await slack.waitFor(() => progressSteps(run).length >= 3, 120_000);
    const outcome = await runtime.runControl.cancelRun(run.id, 'U0BOB0001');
    const cancelled = await waitForStatus(runtime, run.id, ['succeeded', 'failed', 'cancelled', 'lost']);
    await slack.waitFor(() => threadReplies(run).some((text) => text.startsWith('🛑')));

    expect(outcome.kind).toBe('signalled');
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.cancelRequestedBy).toBe('U0BOB0001');
    expect(threadReplies(run)).toContain('<@U0BOB0001> 请求取消，训练正在保存检查点…');
    expect(threadReplies(run).find((text) => text.startsWith('🛑'))).toContain('已取消（<@U0BOB0001>）');

    const log = await runtime.runControl.readRunLog(run.id, 3);
    expect(log.exists).toBe(true);
    expect(log.text.trim().split('\n').length).toBeLessThanOrEqual(3);

    const restarted = await runtime.failures.restartPort.restart({ runId: run.id, from: { kind: 'latest' }, actor: 'U0ALICE01' });
    expect(restarted.outcome).toBe('restarted');
    const checkpointStep = restarted.outcome === 'restarted' && restarted.point.kind === 'checkpoint' ? restarted.point.step : undefined;
    // Until attempt 2 reports a step, the root shows where it resumes instead of attempt 1's progress.
    const resumeLine = `*恢复*：正在从第 ${String(checkpointStep)} 步的检查点 checkpoint-${String(checkpointStep)} 恢复`;
    await slack.waitFor(() => rootUpdates(run).some((blocks) => blocks.includes(resumeLine)));
    const resuming = rootUpdates(run).find((blocks) => blocks.includes(resumeLine));
    expect(resuming).toContain(`*步数*：${String(checkpointStep)} / 10`);
    expect(resuming).toContain('*预计剩余*：—');
    expect(resuming).toContain('*损失*：—');
    const ended = await waitForStatus(runtime, run.id, ['succeeded', 'failed', 'cancelled', 'lost']);
    await waitForJobEnd(runtime, run, 2);

    expect(ended.status).toBe('succeeded');
    expect(ended.step).toBe(10);
    expect(ended.attempts.map((attempt) => attempt.status)).toEqual(['cancelled', 'succeeded']);
    // The duration adds up both attempts' running time, without the time between them.
    expect(ended.attempts.every((attempt) => attempt.launchedAt !== undefined)).toBe(true);
    const running = runningTime(ended);
    expect(running?.attempts).toBe(2);
    expect(threadReplies(run).find((text) => text.startsWith('✅'))).toContain(`用时 ${formatDuration(running?.ms ?? NaN, translator('zh-CN'))}（2 次尝试的运行时间之和）`);
    expect(rootUpdates(run).at(-1)).not.toContain('*恢复*');
    expect(await countLaunches(run.id)).toBe(2);
    expect(threadReplies(run).filter((text) => text.startsWith('✅'))).toHaveLength(1);
    expect(progressSteps(run).at(-1)).toBe(10);
    const starts = (await readFile(path.join(workdir, 'runs', run.id, 'events.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; resumed_from?: string | null })
      .filter((event) => event.type === 'start');
    expect(starts[1]?.resumed_from).toMatch(/checkpoint-\d+$/);
  }, E2E_TIMEOUT_MS);

  it('marks a run lost when its VM stays unreachable', async () => {
    const doomed = await startSshd();
    const workdirOutside = await mkdtemp(path.join(os.tmpdir(), 'trainops-lost-'));
    let trainerPid: number | undefined;
    try {
      // stop() deletes the server's folder with the client key; a copy keeps the failure a refused connection.
      const keyPath = path.join(workdirOutside, 'client_key');
      await copyFile(doomed.keyPath, keyPath);
      const config = makeConfig({ max_steps: 200, step_delay_seconds: 0.5 }, undefined, { ...doomed, keyPath }, 3);
      const runtime = startRuntime(config, uniquePrefix('runs'));
      const run = await createRun(runtime);
      runtime.startWorkers();

      await slack.waitFor(() => progressSteps(run).length >= 2, 120_000);
      trainerPid = Number(await readFile(path.join(workdir, 'runs', run.id, 'pid'), 'utf8'));
      await doomed.stop();
      const ended = await waitForStatus(runtime, run.id, ['succeeded', 'failed', 'cancelled', 'lost']);
      await waitForJobEnd(runtime, run);

      expect(ended.status).toBe('lost');
      expect(ended.failureClass).toBe('unreachable');
      expect(threadReplies(run)).toContain('⚠️ 连接中断，正在重连（虚拟机 gpu1）…');
      // The failure report is the one final message, so the short "lost" outcome is not posted.
      const finals = finalMessages(run);
      expect(finals).toHaveLength(1);
      expect(finals[0]).toMatch(new RegExp(`^⚠️ #${run.id} 第 1 次尝试失联：`));
    } finally {
      // The detached trainer outlives its sshd; stop its process group here.
      if (trainerPid) {
        try {
          process.kill(-trainerPid, 'SIGKILL');
        } catch {
          // Already ended.
        }
      }
      await doomed.stop();
      await rm(workdirOutside, { recursive: true, force: true });
    }
  }, E2E_TIMEOUT_MS);

  it('starts a deallocated VM and survives a failed chart upload', async () => {
    const arm = await startFakeArm({ pollsPerOperation: 2 });
    try {
      arm.addVm('gpu1-azure', 'deallocated');
      const config = makeConfig({ max_steps: 2 }, { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-gpu', vmName: 'gpu1-azure' });
      const vmControl = new AzureVmControl({ vms: config.vms, credential: staticTestCredential(), endpoint: arm.url, trustedCa: arm.ca, pollIntervalMs: 10, maxRetries: 0 });
      const runtime = startRuntime(config, uniquePrefix('runs'), vmControl);
      const run = await createRun(runtime);
      slack.errorNext('files.getUploadURLExternal', 1, 'not_allowed_token_type');
      const startedAt = Date.now();
      runtime.startWorkers();

      const ended = await waitForStatus(runtime, run.id, ['succeeded', 'failed', 'cancelled', 'lost']);
      await slack.waitFor(() => threadReplies(run).some((text) => text.startsWith('✅')));
      await slack.waitFor((calls) => calls.some((call) => call.method === 'files.getUploadURLExternal' && call.time >= startedAt));

      expect(ended.status).toBe('succeeded');
      expect([...slack.files.values()].filter((file) => file.threadTs === run.threadTs)).toEqual([]);
      expect(arm.powerState('gpu1-azure')).toBe('running');
      const replies = threadReplies(run);
      expect(replies[0]).toBe('正在启动虚拟机 gpu1…');
      expect(replies[1]).toMatch(/^虚拟机 gpu1 已启动，用时 \d+ 秒。$/);
    } finally {
      await arm.stop();
    }
  });

  it('fails a run with an unknown recipe without retrying', async () => {
    const config = makeConfig({ max_steps: 2 });
    const runtime = startRuntime(config, uniquePrefix('runs'));
    const run = await createRun(runtime, 'no-such-recipe');
    runtime.startWorkers();

    const ended = await waitForStatus(runtime, run.id, ['succeeded', 'failed', 'cancelled', 'lost']);
    const job = await runtime.runQueue.getJob(`run-${run.id}-a1`);
    for (let waited = 0; (await job?.getState()) !== 'failed' && waited < 100; waited += 1) await new Promise((resolve) => setTimeout(resolve, 100));

    expect(ended.status).toBe('failed');
    expect(ended.failureClass).toBe('config_error');
    expect(await job?.getState()).toBe('failed');
    expect((await runtime.runQueue.getJob(`run-${run.id}-a1`))?.attemptsMade).toBe(1);
    await slack.waitFor(() => threadReplies(run).some((text) => text.startsWith('❌')));
    expect(threadReplies(run).find((text) => text.startsWith('❌'))).toContain('配置里没有配方 no-such-recipe');
    // One final message: the failure report, with no short outcome besides it.
    expect(finalMessages(run)).toEqual([expect.stringMatching(new RegExp(`^❌ #${run.id} 第 1 次尝试失败：配置错误`))]);
  });

  it('cancels a queued run at once', async () => {
    const config = makeConfig({ max_steps: 2 });
    const runtime = startRuntime(config, uniquePrefix('runs'));
    const run = await createRun(runtime);

    const outcome = await runtime.runControl.cancelRun(run.id, 'U0BOB0001');
    const again = await runtime.runControl.cancelRun(run.id, 'U0BOB0001');

    expect(outcome.kind).toBe('cancelled_before_launch');
    expect(outcome.run.status).toBe('cancelled');
    expect(again.kind).toBe('not_active');
    expect(await runtime.runQueue.getJob(`run-${run.id}-a1`)).toBeUndefined();
    await slack.waitFor(() => threadReplies(run).some((text) => text.startsWith('🛑')));
    expect(threadReplies(run).filter((text) => text.startsWith('🛑'))).toEqual(['🛑 已取消（<@U0BOB0001>），停在第 0 步。']);
  });
});
