/**
 * Train, then deploy: a training run whose recipe names `deployAfter` queues a deploy run
 * of the new adapter when it succeeds. Real redis-server, sshd, the trainer on a tiny
 * model, and the fake OpenAI-compatible server in place of vLLM.
 */
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { getFreePort } from '../support/free-port.js';
import { killLaunchedRuns, startJobServers, startTestJobsRuntime, submitRun, threadReplies, waitForRun, waitForStatus, type JobServers } from '../support/jobs-runtime.js';
import { uniquePrefix } from '../support/redis.js';
import { vmConfigFor } from '../support/sshd.js';
import { PYTHON, REPO, SAMPLE_DATASET } from '../support/trainer-env.js';

const FAKE_SERVER = path.join(REPO, 'test/fixtures/fake_openai_server.py');
const CHANNEL = 'C0TRAINDEP';

describe('deploy after training', () => {
  let servers: JobServers;

  beforeAll(async () => {
    servers = await startJobServers();
  });

  afterAll(async () => {
    await servers?.stop();
  });

  it('queues a deploy of the new adapter', async () => {
    const { redis, sshd, slack } = servers;
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
          dataset: SAMPLE_DATASET,
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
    const { runtime, hosts, close } = startTestJobsRuntime({ config, redis, slack });

    try {
      runtime.startWorkers();
      const train = await submitRun(runtime, { kind: 'train', recipe: 'medical', vm: 'gpu1', userId: 'U0ALICE01', channel: CHANNEL, overrides: {} });

      const trained = await waitForRun(runtime, train.id, (run) => run.deployRunId !== undefined || ['failed', 'cancelled', 'lost'].includes(run.status));
      expect(trained.status, trained.failureMessage).toBe('succeeded');
      const deploy = await waitForStatus(runtime, trained.deployRunId!, ['serving', 'failed'], 60_000);

      expect(deploy.status, deploy.failureMessage).toBe('serving');
      expect(deploy.kind).toBe('deploy');
      expect(deploy.recipe).toBe('medical-serve');
      expect(deploy.sourceRunId).toBe(train.id);
      expect(deploy.deployment?.models).toEqual(['medical-adapter']);
      expect(threadReplies(slack, train).some((text) => text.includes(`queued deployment #${deploy.id}`))).toBe(true);
    } finally {
      await killLaunchedRuns(hosts, 'gpu1', workdir);
      await close();
    }
  });
});
