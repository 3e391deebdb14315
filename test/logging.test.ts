import { Writable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { boltLogger } from '../src/bot/bolt-logger.js';
import { ConsoleChat } from '../src/bot/console-chat.js';
import { configSchema } from '../src/config/schema.js';
import { createJobsRuntime } from '../src/jobs/runtime.js';
import { handleRunFailure } from '../src/jobs/run-failure.js';
import { createLogger } from '../src/logging.js';
import { AlwaysOnVmControl } from '../src/remote/always-on-vm-control.js';
import { HostPool } from '../src/remote/host-pool.js';
import { startRedis, uniquePrefix, type TestRedis } from './support/redis.js';

let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis.stop();
});

function capture(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString().split('\n').filter((line) => line.length > 0));
      callback();
    },
  });
  return { lines, destination };
}

/** Counts `"key":` in the raw JSON line, because JSON.parse keeps only the last of duplicate keys. */
function keyCount(line: string, key: string): number {
  return line.split(`"${key}":`).length - 1;
}

describe('child logger bindings', () => {
  it('failure path line has one component', async () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', destination });
    const config = configSchema.parse({
      redisPrefix: `${redis.prefix}${uniquePrefix('log')}`,
      slack: { mode: 'console', channel: 'C0LOGS' },
      team: { members: [{ id: 'U0ALICE01', name: 'Alice', roles: ['admin'] }] },
      vms: { local: { transport: 'local', workdir: '/tmp/trainops-logging-test' } },
      recipes: { demo: { kind: 'train', model: 'tiny-random-phi3', dataset: 'rows.jsonl', vm: 'local' } },
    });
    const hosts = new HostPool(config.vms, logger);
    const chat = new ConsoleChat({
      output: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
      fileDir: '/tmp/trainops-logging-test/files',
      timezone: config.timezone,
      labels: { ephemeral: 'ephemeral', updated: 'updated', file: 'file' },
    });
    const jobs = createJobsRuntime({ config, redisUrl: redis.url, chat, hosts, vmControl: new AlwaysOnVmControl(), logger, queueName: uniquePrefix('runs') });

    try {
      const run = await jobs.runStore.create({ kind: 'train', recipe: 'demo', vm: 'local', userId: 'U0ALICE01', channel: 'C0LOGS', overrides: {} });
      // An attempt number that is not the run's current one takes the shortest failure path: one log line.
      const outcome = await handleRunFailure(jobs.failures.failureDeps, { runId: run.id, attempt: run.attempt + 1, endEvent: null, exitCode: 1, hostReachable: true });
      expect(outcome).toEqual({ handled: false, reason: 'stale_attempt' });
    } finally {
      await jobs.close();
      await hosts.closeAll();
    }

    const line = lines.find((candidate) => candidate.includes('failure of a superseded attempt ignored'));
    expect(line).toBeDefined();
    expect(keyCount(line!, 'component')).toBe(1);
    expect(keyCount(line!, 'module')).toBe(1);
    expect(JSON.parse(line!)).toMatchObject({ component: 'jobs', module: 'failures' });
  });

  it('Bolt line has one component', () => {
    const { lines, destination } = capture();
    const slackLogger = boltLogger(createLogger({ destination }).child({ component: 'slack' }));

    slackLogger.setName('socket-mode');
    slackLogger.warn('reconnecting');

    expect(lines).toHaveLength(1);
    expect(keyCount(lines[0]!, 'component')).toBe(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ component: 'slack', module: 'socket-mode', msg: 'reconnecting' });
  });
});
