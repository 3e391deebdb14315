/**
 * Train, then deploy: a training run whose recipe names `deployAfter` queues a deploy run
 * of the new adapter when it succeeds. Real redis-server, sshd, the trainer on a tiny
 * model, and the fake OpenAI-compatible server in place of vLLM.
 */
import { execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
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
import { signalRun } from '../../src/remote/launcher.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { getFreePort } from '../support/free-port.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';
import { startSshd, vmConfigFor, type TestSshd } from '../support/sshd.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const PYTHON = execFileSync('bash', [path.join(REPO, 'scripts/python-env.sh')], { encoding: 'utf8' }).trim();
const SAMPLE = path.join(REPO, 'python/trainops_trainer/samples/medical_sample.jsonl');
const FAKE_SERVER = path.join(REPO, 'test/fixtures/fake_openai_server.py');
const CHANNEL = 'C0TRAINDEP';
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('deploy after training', () => {
  let redis: TestRedis;
  let sshd: TestSshd;
  let slack: FakeSlack;

  beforeAll(async () => {
    [redis, sshd, slack] = await Promise.all([startRedis(), startSshd(), startFakeSlack()]);
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), sshd?.stop(), slack?.stop()]);
  });

  it('queues a deploy of the new adapter', async () => {
    const workdir = path.join(sshd.workdir, uniquePrefix('vm'));
    const input: ConfigInput = {
      locale: 'en',
      redisPrefix: `${redis.prefix}${uniquePrefix('after')}`,
      slack: { mode: 'console', channel: CHANNEL },
      team: { members: [{ id: 'U0ALICE01', name: 'Alice', roles: ['admin'] }] },
      vms: { gpu1: { ...vmConfigFor(sshd), python: PYTHON, workdir } },
      recipes: {
        medical: {
          kind: 'train',
          model: 'tiny-random-phi3',
          dataset: SAMPLE,
          hyperparameters: { logging_steps: 1, batch_size: 2, max_steps: 2, save_steps: 2 },
          deployAfter: 'medical-serve',
        },
        'medical-serve': {
          kind: 'deploy',
          model: 'tiny-random-phi3',
          port: await getFreePort(),
          host: '127.0.0.1',
          healthPollSeconds: 0.3,
          healthTimeoutSeconds: 20,
          command: ['python3', FAKE_SERVER, '--port', '{port}', '--model', 'medical-adapter', '--startup-seconds', '0.5'],
        },
      },
      runs: { lostAfterSeconds: 600, pollSeconds: 0.3, maxConcurrentPerWorker: 4 },
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
      const created = await runtime.runStore.create({ kind: 'train', recipe: 'medical', vm: 'gpu1', userId: 'U0ALICE01', channel: CHANNEL, overrides: {} });
      const train = await runtime.runThread.postThreadRoot(created);
      await enqueueRun(runtime.runQueue, train);

      const trained = await waitFor(runtime.runStore, train.id, (run) => run.deployRunId !== undefined || ['failed', 'cancelled', 'lost'].includes(run.status), 180_000);
      expect(trained.status, trained.failureMessage).toBe('succeeded');
      const deploy = await waitFor(runtime.runStore, trained.deployRunId!, (run) => ['serving', 'failed'].includes(run.status), 60_000);

      expect(deploy.status, deploy.failureMessage).toBe('serving');
      expect(deploy.kind).toBe('deploy');
      expect(deploy.recipe).toBe('medical-serve');
      expect(deploy.sourceRunId).toBe(train.id);
      expect(deploy.deployment?.models).toEqual(['medical-adapter']);
      const trainReplies = slack.callsOf('chat.postMessage').filter((call) => call.body.thread_ts === train.threadTs).map((call) => String(call.body.text));
      expect(trainReplies.some((text) => text.includes(`queued deployment #${deploy.id}`))).toBe(true);
    } finally {
      const host = await hosts.get('gpu1');
      for (const runId of await readdir(path.join(workdir, 'runs')).catch(() => [] as string[])) {
        await signalRun(host, path.join(workdir, 'runs', runId), 'KILL').catch(() => undefined);
      }
      await runtime.close();
      await hosts.closeAll();
    }
  });
});

async function waitFor(
  store: { require(id: string): Promise<RunRecord> },
  runId: string,
  done: (run: RunRecord) => boolean,
  timeoutMs: number,
): Promise<RunRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await store.require(runId);
    if (done(run)) return run;
    if (Date.now() > deadline) throw new Error(`run #${runId} still ${run.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
