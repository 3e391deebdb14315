/**
 * Following a run while Slack rate-limits its replies: real redis-server, the stand-in
 * trainer on the local host, and the fake Slack Web API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SlackChat } from '../../src/bot/slack-chat.js';
import { configSchema } from '../../src/config/schema.js';
import { systemClock } from '../../src/jobs/clock.js';
import { followRun } from '../../src/jobs/run-follow.js';
import { createJobsRuntime, type JobsRuntime } from '../../src/jobs/runtime.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import { syncCode } from '../../src/remote/code-sync.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { launchRun } from '../../src/remote/launcher.js';
import { runJsonFor, STAND_IN_TRAINER, waitFor } from '../remote/run-helpers.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

const CHANNEL = 'C0FOLLOW1';
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
/** Longer than the run takes, so the run ends while its first reply still waits. */
const RETRY_AFTER_SECONDS = 15;

describe('followRun', () => {
  let redis: TestRedis;
  let slack: FakeSlack;
  let workdir: string;
  let runtime: JobsRuntime;
  let hosts: HostPool;

  beforeAll(async () => {
    [redis, slack] = await Promise.all([startRedis(), startFakeSlack()]);
    workdir = await mkdtemp(path.join(os.tmpdir(), 'trainops-follow-'));
    const config = configSchema.parse({
      redisPrefix: `${redis.prefix}${uniquePrefix('jobs')}`,
      slack: { mode: 'console', channel: CHANNEL },
      team: { members: [{ id: 'U0ALICE01', name: 'Alice', roles: ['admin'] }] },
      vms: { local: { transport: 'local', python: 'python3', workdir } },
      recipes: { demo: { kind: 'train', model: 'stand-in', dataset: 'none' } },
    });
    hosts = new HostPool(config.vms, logger);
    runtime = createJobsRuntime({
      config,
      redisUrl: redis.url,
      chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url, rejectRateLimitedCalls: true }),
      hosts,
      vmControl: new AlwaysOnVmControl(),
      logger,
      queueName: uniquePrefix('runs'),
      // Root updates after every batch would reach the 50 a minute default, and close() waits for them.
      announcer: { channelIntervalMs: 20, updateIntervalMs: 100, updatesPerMinute: 10_000, claimTtlMs: 3000 },
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await hosts?.closeAll();
    await Promise.all([redis?.stop(), slack?.stop()]);
    if (workdir) await rm(workdir, { recursive: true, force: true });
  });

  it('applies events while a reply waits for a 429', async () => {
    const host = await hosts.get('local');
    const { codeDir } = await syncCode(host, { localDir: STAND_IN_TRAINER, workdir });
    const created = await runtime.runStore.create({ kind: 'train', recipe: 'demo', vm: 'local', userId: 'U0ALICE01', channel: CHANNEL, overrides: {} });
    const run = await runtime.runThread.postThreadRoot(created);
    const runDir = path.join(workdir, 'runs', run.id);
    await launchRun(host, { runDir, codeDir, python: 'python3', runJson: runJsonFor(runDir, run.id, { max_steps: 60, step_delay_seconds: 0.1 }), attempt: 1 });
    // The first progress reply gets 429 and waits Retry-After before it is sent again.
    slack.failNext('chat.postMessage', 1, RETRY_AFTER_SECONDS);

    const following = followRun(
      { store: runtime.runStore, thread: runtime.runThread, hosts, clock: systemClock, logger, progress: { everySeconds: 0.001 }, pollMs: 50, lostAfterSeconds: 600 },
      run,
      runDir,
      new AbortController().signal,
    );
    await waitFor('a rate-limited reply', async () => (slack.callsOf('chat.postMessage').some((call) => call.status === 429) ? true : undefined));
    const stepWhenLimited = (await runtime.runStore.require(run.id)).step ?? 0;

    // Without background posting this times out: the follower would wait out Retry-After first.
    const later = await waitFor('steps applied while the reply waits', async () => {
      const current = await runtime.runStore.require(run.id);
      return (current.step ?? 0) >= stepWhenLimited + 10 ? current : undefined;
    }, (RETRY_AFTER_SECONDS * 1000) / 2);
    const repliesWhileLimited = slack.callsOf('chat.postMessage').filter((call) => call.status !== 429 && call.body.thread_ts === run.threadTs);
    const outcome = await following;

    expect(later.step).toBeGreaterThanOrEqual(stepWhenLimited + 10);
    expect(repliesWhileLimited).toEqual([]);
    expect(outcome.reason).toBe('exited');
    expect(outcome.run.step).toBe(60);
    expect(outcome.run.outbox ?? []).toEqual([]);
    expect(slack.callsOf('chat.postMessage').filter((call) => call.status !== 429 && call.body.thread_ts === run.threadTs).length).toBeGreaterThan(0);
  }, 60_000);
});
