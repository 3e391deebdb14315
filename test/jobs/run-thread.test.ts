/**
 * Draining a run's outbox into its thread: real redis-server and the fake Slack Web API.
 */
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { SlackChat } from '../../src/bot/slack-chat.js';
import { configSchema } from '../../src/config/schema.js';
import type { OutboxItem } from '../../src/jobs/run-types.js';
import { createJobsRuntime, type JobsRuntime } from '../../src/jobs/runtime.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

const CHANNEL = 'C0THREAD1';
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('RunThread.flushOutbox', () => {
  let redis: TestRedis;
  let slack: FakeSlack;
  const runtimes: JobsRuntime[] = [];

  beforeAll(async () => {
    [redis, slack] = await Promise.all([startRedis(), startFakeSlack()]);
  });

  afterEach(async () => {
    for (const runtime of runtimes.splice(0)) await runtime.close();
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), slack?.stop()]);
  });

  function startRuntime(): JobsRuntime {
    const config = configSchema.parse({
      redisPrefix: `${redis.prefix}${uniquePrefix('jobs')}`,
      slack: { mode: 'console', channel: CHANNEL },
      team: { members: [{ id: 'U0ALICE01', name: 'Alice', roles: ['admin'] }] },
      vms: { local: { transport: 'local' } },
      recipes: { demo: { kind: 'train', model: 'tiny-random-phi3', dataset: 'data.jsonl' } },
    });
    const runtime = createJobsRuntime({
      config,
      redisUrl: redis.url,
      chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url, rejectRateLimitedCalls: true }),
      hosts: new HostPool(config.vms, logger),
      vmControl: new AlwaysOnVmControl(),
      logger,
      queueName: uniquePrefix('runs'),
      announcer: { channelIntervalMs: 20, updateIntervalMs: 100, claimTtlMs: 3000 },
    });
    runtimes.push(runtime);
    return runtime;
  }

  it('posts a progress backlog as its newest reply', async () => {
    const runtime = startRuntime();
    const created = await runtime.runStore.create({ kind: 'train', recipe: 'demo', vm: 'local', userId: 'U0ALICE01', channel: CHANNEL, overrides: {} });
    const rooted = await runtime.runThread.postThreadRoot(created);
    const outbox: OutboxItem[] = [
      { key: `run:${rooted.id}:progress:a1:s1`, type: 'progress', step: 1, maxSteps: 30, loss: 3 },
      { key: `run:${rooted.id}:progress:a1:s10`, type: 'progress', step: 10, maxSteps: 30, loss: 2.6, lossChange: -0.4 },
      { key: `run:${rooted.id}:checkpoint:a1:s10`, type: 'checkpoint', step: 10, path: '/runs/1/checkpoint-10' },
      { key: `run:${rooted.id}:progress:a1:s20`, type: 'progress', step: 20, maxSteps: 30, loss: 2.4, lossChange: -0.2 },
      { key: `run:${rooted.id}:progress:a1:s30`, type: 'progress', step: 30, maxSteps: 30, loss: 2.25, lossChange: -0.15 },
    ];
    const run = await runtime.runStore.update(rooted.id, () => ({ outbox }));

    const flushed = await runtime.runThread.flushOutbox(run);

    const replies = slack
      .callsOf('chat.postMessage')
      .filter((call) => call.status === 200 && call.body.thread_ts === run.threadTs)
      .map((call) => String(call.body.text));
    expect(replies).toHaveLength(2);
    expect(replies[0]).toMatch(/^💾/);
    expect(replies[1]).toMatch(/^步数 30\/30 · 损失 2\.25 · /);
    expect(flushed.outbox).toEqual([]);
  });
});
