/**
 * What the Slack receiver tests share: a real redis-server, the fake Slack Web API,
 * the real jobs runtime (without workers, so runs stay queued), the handler deps, and
 * a logger whose lines are kept for assertions about secrets.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';

import { Redis } from 'ioredis';

import { createHandlerDeps } from '../../src/bot/handler-deps.js';
import { RedisRequestDeduper } from '../../src/bot/request-dedupe.js';
import { SlackChat } from '../../src/bot/slack-chat.js';
import { createCommandRegistry } from '../../src/commands/index.js';
import type { HandlerDeps } from '../../src/commands/deps.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { systemClock } from '../../src/jobs/clock.js';
import { createJobsRuntime, type JobsRuntime } from '../../src/jobs/runtime.js';
import { createLogger } from '../../src/logging.js';
import { RoutingVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

/** Canary secrets: no log line and no Slack request body may contain them. */
export const CANARY = {
  botToken: 'xoxb-canary-bot-token-7f3a9c',
  appToken: 'xapp-canary-app-token-51d2e8',
  signingSecret: 'canary-signing-secret-0c8b44d1',
} as const;

export const MEMBER = 'U01CHENCHEN';
export const CHANNEL = 'C0123TRAINOPS';

export interface BotHarness {
  redis: TestRedis;
  slack: FakeSlack;
  config: Config;
  jobs: JobsRuntime;
  deps: HandlerDeps;
  dedupe: RedisRequestDeduper;
  connection: Redis;
  logLines: string[];
  logger: ReturnType<typeof createLogger>;
  /** Resolves once a log line contains `text`. */
  waitForLog(text: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startBotHarness(): Promise<BotHarness> {
  const redis = await startRedis();
  const slack = await startFakeSlack();
  const prefix = uniquePrefix('bot');
  const text = readFileSync('config/trainops.example.yaml', 'utf8').replace('redisPrefix: trainops', `redisPrefix: ${prefix}`);
  const config = parseConfig(text, 'example');

  const logLines: string[] = [];
  const wakers = new Set<() => void>();
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(chunk.toString());
      for (const wake of wakers) wake();
      callback();
    },
  });
  const logger = createLogger({ level: 'debug', secrets: Object.values(CANARY), destination });

  const chat = new SlackChat({ token: CANARY.botToken, slackApiUrl: slack.url });
  const hosts = new HostPool(config.vms, logger);
  const jobs = createJobsRuntime({
    config,
    redisUrl: redis.url,
    chat,
    hosts,
    vmControl: new RoutingVmControl(undefined),
    logger,
    queueName: uniquePrefix('run-jobs'),
  });
  const deps = createHandlerDeps({ config, jobs, chat, clock: systemClock, logger, registry: createCommandRegistry() });
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });

  return {
    redis,
    slack,
    config,
    jobs,
    deps,
    dedupe: new RedisRequestDeduper(connection, prefix),
    connection,
    logLines,
    logger,
    waitForLog(needle, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (logLines.some((line) => line.includes(needle))) {
            wakers.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          wakers.delete(check);
          reject(new Error(`no log line with "${needle}" within ${timeoutMs} ms`));
        }, timeoutMs);
        wakers.add(check);
        check();
      });
    },
    async stop() {
      await jobs.close();
      await hosts.closeAll();
      connection.disconnect();
      await slack.stop();
      await redis.stop();
    },
  };
}

/**
 * Slack request bodies without the credential itself: the bot token reaches the Web API
 * by design, in the Authorization header or the `token` form field of auth.test.
 */
export function slackBodies(slack: FakeSlack): string {
  return slack.calls.map(({ body: { token: _credential, ...rest } }) => JSON.stringify(rest)).join('\n');
}
