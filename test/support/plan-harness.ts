/**
 * What the plan tests share: a real redis-server, the fake Slack Web API, and the plan
 * runtime or bare PlanJobs started on them, as bot processes start theirs.
 *
 *   let harness: PlanHarness;
 *   beforeAll(async () => { harness = await startPlanHarness(); });
 *   afterAll(async () => { await harness.stop(); });
 *   const jobs = await harness.startProcess({ prefix, config, clock });
 *   const { plan, runStore } = harness.startPlanRuntime({ prefix, now: '2026-11-30T09:30:00+08:00' });
 */
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';

import { SlackChat } from '../../src/bot/slack-chat.js';
import { loadConfig } from '../../src/config/load.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { ManualClock } from '../../src/jobs/clock.js';
import { createPlanRuntime, type PlanRuntime } from '../../src/jobs/plan-runtime.js';
import { PlanStore } from '../../src/jobs/plan-store.js';
import { PlanJobs } from '../../src/jobs/plan-worker.js';
import { RunStore } from '../../src/jobs/run-store.js';
import { startFakeSlack, type FakeSlack } from './fake-slack.js';
import { startRedis, type TestRedis } from './redis.js';

export interface PlanProcessOptions {
  prefix: string;
  config: Config;
  clock: ManualClock;
  /** False: only sync the reminder jobs, without a worker that runs them. Default true. */
  worker?: boolean;
}

/** A plan runtime on the example config (config/trainops.example.yaml), with what it was built from. */
export interface TestPlanRuntime {
  plan: PlanRuntime;
  config: Config;
  clock: ManualClock;
  runStore: RunStore;
  chat: SlackChat;
  logger: Logger;
}

export interface PlanHarness {
  redis: TestRedis;
  slack: FakeSlack;
  /** Opens a Redis connection that stop() closes. */
  connect(): Redis;
  /** Starts PlanJobs with its own connection, store and chat client, as another bot process would. */
  startProcess(options: PlanProcessOptions): Promise<PlanJobs>;
  /** Creates the plan runtime with key prefix `prefix` and a manual clock set to `now`. */
  startPlanRuntime(options: { prefix: string; now: string }): TestPlanRuntime;
  /** Closes every runtime, PlanJobs and connection, then stops the servers. */
  stop(): Promise<void>;
}

export async function startPlanHarness(): Promise<PlanHarness> {
  const [redis, slack] = await Promise.all([startRedis(), startFakeSlack()]);
  const connections: Redis[] = [];
  const started: Array<PlanJobs | PlanRuntime> = [];

  const connect = (): Redis => {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    connections.push(connection);
    return connection;
  };

  const startProcess = async ({ prefix, config, clock, worker = true }: PlanProcessOptions): Promise<PlanJobs> => {
    const connection = connect();
    const jobs = new PlanJobs({
      connection,
      prefix,
      store: new PlanStore(connection, prefix, clock),
      chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url }),
      config,
      clock,
      logger: pino({ level: 'silent' }),
    });
    if (worker) await jobs.start();
    else await jobs.syncReminders();
    started.push(jobs);
    return jobs;
  };

  const startPlanRuntime = ({ prefix, now }: { prefix: string; now: string }): TestPlanRuntime => {
    const config = { ...loadConfig('config/trainops.example.yaml'), redisPrefix: prefix };
    const clock = new ManualClock(now);
    const logger = pino({ level: 'silent' });
    const chat = new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url });
    const runStore = new RunStore(connect(), config.redisPrefix, clock);
    const plan = createPlanRuntime({ config, redisUrl: redis.url, chat, runs: runStore, logger, clock });
    started.push(plan);
    return { plan, config, clock, runStore, chat, logger };
  };

  const stop = async (): Promise<void> => {
    for (const closable of started) await closable.close();
    for (const connection of connections) connection.disconnect();
    await slack.stop();
    await redis.stop();
  };

  return { redis, slack, connect, startProcess, startPlanRuntime, stop };
}

/** Builds the config of a plan test: one team member (李娜) and one local VM. */
export function planTestConfig(timezone: string, channel: string, vmName = 'local'): Config {
  return configSchema.parse({
    timezone,
    slack: { channel, mode: 'console' },
    team: { members: [{ id: 'ULINA', name: '李娜' }] },
    vms: { [vmName]: { transport: 'local' } },
  });
}
