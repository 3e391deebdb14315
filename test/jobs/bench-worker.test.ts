/**
 * The comm benchmark end to end: real redis-server, real sshd as a VM without GPUs, the
 * real `bench-comm` under torch.distributed.run with two gloo processes, and the fake
 * Slack Web API receiving the table and the chart.
 */
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { startJobServers, startTestJobsRuntime, submitRun, threadReplies, waitForEnd, type JobServers } from '../support/jobs-runtime.js';
import { uniquePrefix } from '../support/redis.js';
import { vmConfigFor } from '../support/sshd.js';
import { PYTHON } from '../support/trainer-env.js';

const CHANNEL = 'C0BENCH01';

describe('bench worker', () => {
  let servers: JobServers;

  beforeAll(async () => {
    servers = await startJobServers();
  });

  afterAll(async () => {
    await servers?.stop();
  });

  it('posts a table and chart from two gloo processes', async () => {
    const { redis, sshd, slack } = servers;
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
    const { runtime, close } = startTestJobsRuntime({ config, redis, slack });
    try {
      runtime.startWorkers();
      const run = await submitRun(runtime, { kind: 'bench', recipe: 'comm', vm: 'cpu2', userId: 'U0ALICE01', channel: CHANNEL, overrides: {} });

      const ended = await waitForEnd(runtime, run.id, 120_000);

      expect(ended.status, ended.failureMessage).toBe('succeeded');
      const report = threadReplies(slack, run).find((text) => text.startsWith('Comm benchmark on cpu2'));
      expect(report).toBeDefined();
      expect(report).toContain('2 processes, gloo backend');
      expect(report).toContain('NCCL version: none');
      const rows = report!.split('\n').filter((line) => /^\s+\d+ KiB/.test(line));
      expect(rows.map((line) => line.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual(['1 KiB', '2 KiB', '4 KiB', '8 KiB']);
      expect(slack.callsOf('files.completeUploadExternal').length).toBeGreaterThan(0);
      await slack.waitFor((calls) => calls.some((call) => call.body.thread_ts === run.threadTs && String(call.body.text).startsWith('✅ Comm benchmark finished')));
    } finally {
      await close();
    }
  });
});
