/**
 * Data set checks end to end: real redis-server, real sshd as the VM, the real trainer's
 * `check-data`, and the fake Slack Web API receiving the report.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SlackChat } from '../../src/bot/slack-chat.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { enqueueRun } from '../../src/jobs/run-queue.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import { createJobsRuntime, type JobsRuntime } from '../../src/jobs/runtime.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';
import { startSshd, vmConfigFor, type TestSshd } from '../support/sshd.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const PYTHON = execFileSync('bash', [path.join(REPO, 'scripts/python-env.sh')], { encoding: 'utf8' }).trim();
const SAMPLE = path.join(REPO, 'python/trainops_trainer/samples/medical_sample.jsonl');
const CHANNEL = 'C0DATA001';
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('dataset worker', () => {
  let redis: TestRedis;
  let sshd: TestSshd;
  let slack: FakeSlack;
  let runtime: JobsRuntime;
  let hosts: HostPool;

  beforeAll(async () => {
    [redis, sshd, slack] = await Promise.all([startRedis(), startSshd(), startFakeSlack()]);
    const dataDir = path.join(sshd.workdir, 'data');
    await mkdir(dataDir, { recursive: true });
    await copyFile(SAMPLE, path.join(dataDir, 'medical.jsonl'));
    await writeFile(path.join(dataDir, 'notes.txt'), 'not a data set\n');

    const input: ConfigInput = {
      locale: 'en',
      redisPrefix: `${redis.prefix}${uniquePrefix('dataset')}`,
      slack: { mode: 'console', channel: CHANNEL },
      team: { members: [{ id: 'U0ALICE01', name: 'Alice', roles: ['admin'] }] },
      vms: { gpu1: { ...vmConfigFor(sshd), python: PYTHON, workdir: path.join(sshd.workdir, 'trainops') } },
      recipes: {
        medical: { kind: 'dataset', path: path.join(dataDir, 'medical.jsonl'), maxLength: 512, targetRows: { min: 3000, max: 10000 } },
        notes: { kind: 'dataset', path: path.join(dataDir, 'notes.txt') },
      },
      runs: { lostAfterSeconds: 600, pollSeconds: 0.3, maxConcurrentPerWorker: 2 },
    };
    const config = configSchema.parse(input);
    hosts = new HostPool(config.vms, logger);
    runtime = createJobsRuntime({
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
    runtime.startWorkers();
  });

  afterAll(async () => {
    await runtime?.close();
    await hosts?.closeAll();
    await Promise.all([redis?.stop(), sshd?.stop(), slack?.stop()]);
  });

  async function check(recipe: string, overrides: Record<string, number> = {}): Promise<RunRecord> {
    const created = await runtime.runStore.create({ kind: 'dataset', recipe, vm: 'gpu1', userId: 'U0ALICE01', channel: CHANNEL, overrides });
    const run = await runtime.runThread.postThreadRoot(created);
    await enqueueRun(runtime.runQueue, run);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const current = await runtime.runStore.require(run.id);
      if (['succeeded', 'failed', 'cancelled'].includes(current.status)) return current;
      if (Date.now() > deadline) throw new Error(`run #${run.id} still ${current.status}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }

  function threadText(run: RunRecord): string {
    return slack
      .callsOf('chat.postMessage')
      .filter((call) => call.body.thread_ts === run.threadTs)
      .map((call) => String(call.body.text))
      .join('\n');
  }

  it('posts the report with the plan target', async () => {
    const run = await check('medical', { target_min: 30, target_max: 100 });

    expect(run.status, run.failureMessage).toBe('succeeded');
    const text = threadText(run);
    expect(text).toContain('• Rows: 40');
    expect(text).toContain('Target 30–100 rows: inside');
    expect(text).toContain('• Format: medical-r1 (jsonl, utf-8)');
    expect(text).toMatch(/Token lengths \(tiny-random-phi3\): p50 \d+/);
  });

  it('fails an unreadable file clearly', async () => {
    const run = await check('notes');

    expect(run.status).toBe('failed');
    expect(run.failureClass).toBe('data_error');
    expect(run.failureMessage).toMatch(/^Cannot check the data set: .*notes\.txt/);
  });
});
