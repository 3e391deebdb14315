/**
 * The run worker hands failures that happen before launch to failure handling too:
 * real Redis, the real worker and runtime, and the fake Slack Web API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SlackChat } from '../../src/bot/slack-chat.js';
import { configSchema } from '../../src/config/schema.js';
import { enqueueRun } from '../../src/jobs/run-queue.js';
import { createJobsRuntime } from '../../src/jobs/runtime.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
let slack: FakeSlack;
let workdir: string;

beforeAll(async () => {
  [redis, slack] = await Promise.all([startRedis(), startFakeSlack()]);
  workdir = await mkdtemp(path.join(os.tmpdir(), 'trainops-failure-worker-'));
});

afterAll(async () => {
  await Promise.all([redis?.stop(), slack?.stop()]);
  await rm(workdir, { recursive: true, force: true });
});

describe('run worker failure hand-off', () => {
  it('pages on-call for a run whose recipe is gone', async () => {
    const config = configSchema.parse({
      redisPrefix: `${redis.prefix}${uniquePrefix('jobs')}`,
      slack: { mode: 'console', channel: 'CRUNS' },
      team: {
        members: [
          { id: 'UOWNER1', name: 'Owen', roles: ['member'] },
          { id: 'UONCALL1', name: 'Olga', roles: ['oncall'] },
        ],
        oncall: { rotation: ['UONCALL1'] },
      },
      vms: { local: { transport: 'local', workdir } },
      recipes: {},
    });
    const logger = pino({ level: 'silent' });
    const hosts = new HostPool(config.vms, logger);
    const runtime = createJobsRuntime({
      config,
      redisUrl: redis.url,
      chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url, rejectRateLimitedCalls: true }),
      hosts,
      vmControl: new AlwaysOnVmControl(),
      logger,
      queueName: uniquePrefix('runs'),
      announcer: { channelIntervalMs: 0 },
    });

    try {
      const created = await runtime.runStore.create({ kind: 'train', recipe: 'removed-recipe', vm: 'local', userId: 'UOWNER1', channel: 'CRUNS', overrides: {} });
      const run = await runtime.runThread.postThreadRoot(created);
      await enqueueRun(runtime.runQueue, run);
      runtime.startWorkers();

      await slack.waitFor(
        (calls) => calls.some((call) => call.method === 'chat.postMessage' && call.body.thread_ts === run.threadTs && String(call.body.text).includes('<@UONCALL1>')),
        30_000,
      );

      // The job has failed for good once the worker is done with the run, outcome included.
      const job = await runtime.runQueue.getJob(`run-${run.id}-a1`);
      for (let state = await job?.getState(); state !== 'failed'; state = await job?.getState()) await new Promise((resolve) => setTimeout(resolve, 100));

      const stored = await runtime.runStore.require(run.id);
      expect(stored.status).toBe('failed');
      expect(stored.failureClass).toBe('config_error');
      const texts = slack
        .callsOf('chat.postMessage')
        .filter((call) => call.body.thread_ts === run.threadTs)
        .map((call) => String(call.body.text));
      expect(texts.filter((text) => text.includes('第 1 次尝试失败'))).toHaveLength(1);
      expect(texts.find((text) => text.includes('第 1 次尝试失败'))).toContain('配置错误');
      // The report is the run's one final message: no short outcome besides it, and the on-call page.
      expect(texts.filter((text) => text.startsWith('❌ 训练失败'))).toEqual([]);
      expect(texts).toHaveLength(2);
    } finally {
      await runtime.close();
      await hosts.closeAll();
    }
  });
});
