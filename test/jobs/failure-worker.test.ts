/**
 * The run worker hands failures that happen before launch to failure handling too:
 * real Redis, the real worker and runtime, and the fake Slack Web API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { configSchema } from '../../src/config/schema.js';
import { OWNER_AND_ONCALL_TEAM, startLocalJobServers, startTestJobsRuntime, submitRun, threadReplies, type LocalJobServers } from '../support/jobs-runtime.js';
import { uniquePrefix } from '../support/redis.js';

let servers: LocalJobServers;
let workdir: string;

beforeAll(async () => {
  servers = await startLocalJobServers();
  workdir = await mkdtemp(path.join(os.tmpdir(), 'trainops-failure-worker-'));
});

afterAll(async () => {
  await servers?.stop();
  await rm(workdir, { recursive: true, force: true });
});

describe('run worker failure hand-off', () => {
  it('pages on-call for a run whose recipe is gone', async () => {
    const { redis, slack } = servers;
    const config = configSchema.parse({
      redisPrefix: `${redis.prefix}${uniquePrefix('jobs')}`,
      slack: { mode: 'console', channel: 'CRUNS' },
      team: OWNER_AND_ONCALL_TEAM,
      vms: { local: { transport: 'local', workdir } },
      recipes: {},
    });
    const { runtime, close } = startTestJobsRuntime({ config, redis, slack, announcer: { channelIntervalMs: 0 } });

    try {
      const run = await submitRun(runtime, { kind: 'train', recipe: 'removed-recipe', vm: 'local', userId: 'UOWNER1', channel: 'CRUNS', overrides: {} });
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
      const texts = threadReplies(slack, run);
      expect(texts.filter((text) => text.includes('第 1 次尝试失败'))).toHaveLength(1);
      expect(texts.find((text) => text.includes('第 1 次尝试失败'))).toContain('配置错误');
      // The report is the run's one final message: no short outcome besides it, and the on-call page.
      expect(texts.filter((text) => text.startsWith('❌ 训练失败'))).toEqual([]);
      expect(texts).toHaveLength(2);
    } finally {
      await close();
    }
  });
});
