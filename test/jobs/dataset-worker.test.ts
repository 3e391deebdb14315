/**
 * Data set checks end to end: real redis-server, real sshd as the VM, the real trainer's
 * `check-data`, and the fake Slack Web API receiving the report.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import { startJobServers, startTestJobsRuntime, submitRun, threadReplies, waitForEnd, type JobServers, type TestJobsRuntime } from '../support/jobs-runtime.js';
import { uniquePrefix } from '../support/redis.js';
import { vmConfigFor } from '../support/sshd.js';
import { PYTHON, SAMPLE_DATASET } from '../support/trainer-env.js';

const CHANNEL = 'C0DATA001';

describe('dataset worker', () => {
  let servers: JobServers;
  let jobs: TestJobsRuntime;

  beforeAll(async () => {
    servers = await startJobServers();
    const { redis, sshd, slack } = servers;
    const dataDir = path.join(sshd.workdir, 'data');
    await mkdir(dataDir, { recursive: true });
    await copyFile(SAMPLE_DATASET, path.join(dataDir, 'medical.jsonl'));
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
    jobs = startTestJobsRuntime({ config, redis, slack });
    jobs.runtime.startWorkers();
  });

  afterAll(async () => {
    await jobs?.close();
    await servers?.stop();
  });

  async function check(recipe: string, overrides: Record<string, number> = {}): Promise<RunRecord> {
    const run = await submitRun(jobs.runtime, { kind: 'dataset', recipe, vm: 'gpu1', userId: 'U0ALICE01', channel: CHANNEL, overrides });
    return waitForEnd(jobs.runtime, run.id, 90_000);
  }

  function threadText(run: RunRecord): string {
    return threadReplies(servers.slack, run).join('\n');
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
