/**
 * The comm benchmark end to end: real redis-server, real sshd as a VM without GPUs, the
 * real `bench-comm` under torch.distributed.run with two gloo processes, and the fake
 * Slack Web API receiving the table and the chart.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SlackChat } from '../../src/bot/slack-chat.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { enqueueRun } from '../../src/jobs/run-queue.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import { createJobsRuntime } from '../../src/jobs/runtime.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';
import { startSshd, vmConfigFor, type TestSshd } from '../support/sshd.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const PYTHON = execFileSync('bash', [path.join(REPO, 'scripts/python-env.sh')], { encoding: 'utf8' }).trim();
const CHANNEL = 'C0BENCH01';
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('bench worker', () => {
  let redis: TestRedis;
  let sshd: TestSshd;
  let slack: FakeSlack;

  beforeAll(async () => {
    [redis, sshd, slack] = await Promise.all([startRedis(), startSshd(), startFakeSlack()]);
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), sshd?.stop(), slack?.stop()]);
  });

  it('posts a table and chart from two gloo processes', async () => {
    const input: ConfigInput = {
      locale: 'en',
      redisPrefix: `${redis.prefix}${uniquePrefix('bench')}`,
      slack: { mode: 'console', channel: CHANNEL },
      team: { members: [{ id: 'U0ALICE01', name: 'Alice', roles: ['admin'] }] },
      vms: { cpu2: { ...vmConfigFor(sshd), python: PYTHON, gpus: 0, workdir: path.join(sshd.workdir, uniquePrefix('vm')) } },
      recipes: { comm: { kind: 'bench', minBytes: 1024, maxBytes: 8192, iterations: 3, warmup: 1 } },
      runs: { lostAfterSeconds: 600, pollSeconds: 0.3, maxConcurrentPerWorker: 2 },
    };
    const config = configSchema.parse(input);
    const hosts = new HostPool(config.vms, logger);
    const runtime = createJobsRuntime({
      config,
      redisUrl: redis.url,
      chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url, rejectRateLimitedCalls: true }),
      hosts,
      vmControl: new AlwaysOnVmControl(),
      logger,
      queueName: uniquePrefix('runs'),
      worker: { lockDuration: 4000, stalledInterval: 1000, pollMs: 300 },
      announcer: { channelIntervalMs: 20, updateIntervalMs: 100, claimTtlMs: 3000 },
    });
    try {
      runtime.startWorkers();
      const created = await runtime.runStore.create({ kind: 'bench', recipe: 'comm', vm: 'cpu2', userId: 'U0ALICE01', channel: CHANNEL, overrides: {} });
      const run = await runtime.runThread.postThreadRoot(created);
      await enqueueRun(runtime.runQueue, run);

      const ended = await waitForFinal(runtime.runStore, run.id);

      expect(ended.status, ended.failureMessage).toBe('succeeded');
      const replies = slack
        .callsOf('chat.postMessage')
        .filter((call) => call.body.thread_ts === run.threadTs)
        .map((call) => String(call.body.text));
      const report = replies.find((text) => text.startsWith('Comm benchmark on cpu2'));
      expect(report).toBeDefined();
      expect(report).toContain('2 processes, gloo backend');
      expect(report).toContain('NCCL version: none');
      const rows = report!.split('\n').filter((line) => /^\s+\d+ KiB/.test(line));
      expect(rows.map((line) => line.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual(['1 KiB', '2 KiB', '4 KiB', '8 KiB']);
      expect(slack.callsOf('files.completeUploadExternal').length).toBeGreaterThan(0);
      await slack.waitFor((calls) => calls.some((call) => call.body.thread_ts === run.threadTs && String(call.body.text).startsWith('✅ Comm benchmark finished')));
    } finally {
      await runtime.close();
      await hosts.closeAll();
    }
  });
});

async function waitForFinal(store: { require(id: string): Promise<RunRecord> }, runId: string): Promise<RunRecord> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const run = await store.require(runId);
    if (['succeeded', 'failed', 'cancelled'].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run #${runId} still ${run.status}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
