/**
 * Runs on Azure-managed VMs end to end: the real run worker, real redis-server, real
 * sshd as the VM, the real trainer on tiny-random-phi3, the fake Slack Web API, and
 * AzureVmControl against the fake ARM server.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { SlackChat } from '../../src/bot/slack-chat.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { enqueueRun } from '../../src/jobs/run-queue.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import { createJobsRuntime, type JobsRuntime } from '../../src/jobs/runtime.js';
import { RoutingVmControl } from '../../src/remote/always-on-vm-control.js';
import { AzureVmControl } from '../../src/remote/azure-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { startFakeArm, staticTestCredential, type FakeArm } from '../support/fake-arm.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';
import { startSshd, vmConfigFor, type TestSshd } from '../support/sshd.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const SAMPLE = path.join(REPO, 'python/trainops_trainer/samples/medical_sample.jsonl');
const PYTHON = execFileSync('bash', [path.join(REPO, 'scripts/python-env.sh')], { encoding: 'utf8' }).trim();
const CHANNEL = 'C0TRAIN01';
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('runs on Azure VMs', () => {
  let redis: TestRedis;
  let slack: FakeSlack;
  let arm: FakeArm;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    [redis, slack, arm] = await Promise.all([startRedis(), startFakeSlack(), startFakeArm({ pollsPerOperation: 3 })]);
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), slack?.stop(), arm?.stop()]);
  });

  function makeConfig(sshd: TestSshd, vmName: string, hyperparameters: Record<string, number>, lostAfterSeconds = 600, keyPath = sshd.keyPath): Config {
    return configSchema.parse({
      redisPrefix: `${redis.prefix}${uniquePrefix('jobs')}`,
      slack: { mode: 'console', channel: CHANNEL, progressEverySeconds: 0.001 },
      team: { members: [{ id: 'U0ALICE01', name: 'Alice', roles: ['admin'] }] },
      vms: {
        [vmName]: {
          ...vmConfigFor(sshd, { python: PYTHON, workdir: path.join(sshd.workdir, uniquePrefix('vm')) }),
          ssh: { ...vmConfigFor(sshd).ssh!, keyPath },
          azure: { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-gpu', vmName },
        },
      },
      recipes: {
        demo: {
          kind: 'train',
          model: 'tiny-random-phi3',
          dataset: SAMPLE,
          hyperparameters: { logging_steps: 1, batch_size: 2, ...hyperparameters },
          // No automatic restart, so the run stays lost for the assertions.
          restart: { maxAutoRestarts: 0 },
        },
      },
      runs: { lostAfterSeconds, pollSeconds: 0.2, maxConcurrentPerWorker: 4 },
    });
  }

  function startRuntime(config: Config): JobsRuntime {
    const hosts = new HostPool(config.vms, logger);
    const vmControl = new RoutingVmControl(
      new AzureVmControl({ vms: config.vms, credential: staticTestCredential(), endpoint: arm.url, trustedCa: arm.ca, pollIntervalMs: 20 }),
    );
    const runtime = createJobsRuntime({
      config,
      redisUrl: redis.url,
      chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url, rejectRateLimitedCalls: true }),
      hosts,
      vmControl,
      logger,
      queueName: uniquePrefix('runs'),
      worker: { lockDuration: 4000, stalledInterval: 1000, pollMs: 200 },
      announcer: { channelIntervalMs: 20, updateIntervalMs: 100, claimTtlMs: 3000 },
    });
    cleanups.push(async () => {
      await runtime.close();
      await hosts.closeAll();
    });
    return runtime;
  }

  async function createRun(runtime: JobsRuntime, vm: string): Promise<RunRecord> {
    const run = await runtime.runStore.create({ kind: 'train', recipe: 'demo', vm, userId: 'U0ALICE01', channel: CHANNEL, overrides: {} });
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

  function threadReplies(run: RunRecord): string[] {
    return slack
      .callsOf('chat.postMessage')
      .filter((call) => call.status === 200 && call.body.channel === CHANNEL && call.body.thread_ts === run.threadTs)
      .map((call) => String(call.body.text));
  }

  it('starts a deallocated VM, then trains', async () => {
    const sshd = await startSshd();
    cleanups.push(() => sshd.stop());
    const vmName = uniquePrefix('gpu');
    arm.addVm(vmName, 'deallocated');
    const config = makeConfig(sshd, vmName, { max_steps: 3, save_steps: 3 });
    const runtime = startRuntime(config);

    const run = await createRun(runtime, vmName);
    runtime.startWorkers();
    const ended = await waitForStatus(runtime, run.id, ['succeeded', 'failed', 'cancelled', 'lost']);

    expect(ended.status).toBe('succeeded');
    expect(arm.powerState(vmName)).toBe('running');
    const operations = arm.requests.filter((request) => request.vm === vmName && request.operation !== 'poll').map((request) => request.operation);
    expect(operations.slice(0, 2)).toEqual(['instance_view', 'start']);

    const replies = threadReplies(run);
    const starting = replies.indexOf(`正在启动虚拟机 ${vmName}…`);
    const started = replies.findIndex((text) => text.startsWith(`虚拟机 ${vmName} 已启动，用时`));
    const firstProgress = replies.findIndex((text) => text.startsWith('步数 '));
    expect(starting).toBeGreaterThanOrEqual(0);
    expect(started).toBeGreaterThan(starting);
    expect(firstProgress).toBeGreaterThan(started);
  });

  it('marks a run lost when its VM is deallocated', async () => {
    const sshd = await startSshd();
    let sshdStopped = false;
    cleanups.push(async () => {
      if (!sshdStopped) await sshd.stop();
    });
    const vmName = uniquePrefix('gpu');
    arm.addVm(vmName, 'running');
    // sshd.stop() deletes its folder with the client key; a copy keeps the failure a refused connection.
    const keyDir = await mkdtemp(path.join(os.tmpdir(), 'trainops-key-'));
    cleanups.push(() => rm(keyDir, { recursive: true, force: true }));
    const keyPath = path.join(keyDir, 'client_ed25519');
    await copyFile(sshd.keyPath, keyPath);
    // lostAfterSeconds is far longer than the test: only the power state can end the run in time.
    const config = makeConfig(sshd, vmName, { max_steps: 40, save_steps: 5, step_delay_seconds: 0.3 }, 3600, keyPath);
    const runtime = startRuntime(config);

    const run = await createRun(runtime, vmName);
    runtime.startWorkers();
    await slack.waitFor(() => threadReplies(run).some((text) => text.startsWith('步数 ')), 120_000);

    // A spot eviction: Azure deallocates the VM and its SSH server goes away with it.
    arm.setPowerState(vmName, 'deallocated');
    sshdStopped = true;
    await sshd.stop();
    const ended = await waitForStatus(runtime, run.id, ['succeeded', 'failed', 'cancelled', 'lost']);

    expect(ended.status).toBe('lost');
    expect(ended.failureClass).toBe('evicted');
    expect(ended.failureMessage).toContain('deallocated');
    const replies = threadReplies(run);
    expect(replies).toContain(
      `虚拟机 ${vmName} 在运行期间被释放了（Azure 状态 deallocated），可能是 Spot 逐出或有人在门户里停止了它。运行 #${run.id} 已标记为失联，可以用 \`/restart #${run.id}\` 从最近的检查点继续。`,
    );
  });
});
