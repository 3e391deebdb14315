/**
 * Following a run while Slack rate-limits its replies: real redis-server, the stand-in
 * trainer on the local host, and the fake Slack Web API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { configSchema } from '../../src/config/schema.js';
import { systemClock } from '../../src/jobs/clock.js';
import { followRun } from '../../src/jobs/run-follow.js';
import { syncCode } from '../../src/remote/code-sync.js';
import { launchRun } from '../../src/remote/launcher.js';
import { runJsonFor, STAND_IN_TRAINER, waitFor } from '../remote/run-helpers.js';
import {
  ANNOUNCER_OPTIONS,
  createRunWithThread,
  startLocalJobServers,
  startTestJobsRuntime,
  testLogger as logger,
  type LocalJobServers,
  type TestJobsRuntime,
} from '../support/jobs-runtime.js';
import { uniquePrefix } from '../support/redis.js';

const CHANNEL = 'C0FOLLOW1';
/** Longer than the run takes, so the run ends while its first reply still waits. */
const RETRY_AFTER_SECONDS = 15;

describe('followRun', () => {
  let servers: LocalJobServers;
  let workdir: string;
  let jobs: TestJobsRuntime;

  beforeAll(async () => {
    servers = await startLocalJobServers();
    workdir = await mkdtemp(path.join(os.tmpdir(), 'trainops-follow-'));
    const config = configSchema.parse({
      redisPrefix: `${servers.redis.prefix}${uniquePrefix('jobs')}`,
      slack: { mode: 'console', channel: CHANNEL },
      team: { members: [{ id: 'U0ALICE01', name: 'Alice', roles: ['admin'] }] },
      vms: { local: { transport: 'local', python: 'python3', workdir } },
      recipes: { demo: { kind: 'train', model: 'stand-in', dataset: 'none' } },
    });
    jobs = startTestJobsRuntime({
      config,
      redis: servers.redis,
      slack: servers.slack,
      // Root updates after every batch would reach the 50 a minute default, and close() waits for them.
      announcer: { ...ANNOUNCER_OPTIONS, updatesPerMinute: 10_000 },
    });
  });

  afterAll(async () => {
    await jobs?.close();
    await servers?.stop();
    if (workdir) await rm(workdir, { recursive: true, force: true });
  });

  it('applies events while a reply waits for a 429', async () => {
    const { runtime, hosts } = jobs;
    const { slack } = servers;
    const host = await hosts.get('local');
    const { codeDir } = await syncCode(host, { localDir: STAND_IN_TRAINER, workdir });
    const run = await createRunWithThread(runtime, { kind: 'train', recipe: 'demo', vm: 'local', userId: 'U0ALICE01', channel: CHANNEL, overrides: {} });
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
