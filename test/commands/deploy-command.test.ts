/**
 * `/deploy`, `/deploy stop`, `/dataset check` and `/bench comm` through the command
 * dispatcher: real redis-server, the run worker on a `transport: local` VM, and the fake
 * OpenAI-compatible server in place of vLLM.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createHandlerDeps } from '../../src/bot/handler-deps.js';
import { SlackChat } from '../../src/bot/slack-chat.js';
import type { HandlerDeps } from '../../src/commands/deps.js';
import { dispatchCommand } from '../../src/commands/dispatch.js';
import { createCommandRegistry } from '../../src/commands/index.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { systemClock } from '../../src/jobs/clock.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import { createJobsRuntime, type JobsRuntime } from '../../src/jobs/runtime.js';
import { createLogger } from '../../src/logging.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { signalRun } from '../../src/remote/launcher.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { getFreePort } from '../support/free-port.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

const FAKE_SERVER = path.resolve(import.meta.dirname, '../fixtures/fake_openai_server.py');
const OWNER = 'U0OWNER1';
const MEMBER = 'U0MEMBER1';
const CHANNEL = 'C0DEPLOYCMD';

let redis: TestRedis;
let slack: FakeSlack;
let jobs: JobsRuntime;
let hosts: HostPool;
let deps: HandlerDeps;
let workdir: string;

beforeAll(async () => {
  [redis, slack] = await Promise.all([startRedis(), startFakeSlack()]);
  workdir = mkdtempSync(path.join(os.tmpdir(), 'trainops-deploy-cmd-'));
  const input: ConfigInput = {
    locale: 'en',
    redisPrefix: `${redis.prefix}${uniquePrefix('cmd')}`,
    slack: { mode: 'console', channel: CHANNEL },
    team: {
      members: [
        { id: OWNER, name: 'Owner', roles: ['member'] },
        { id: MEMBER, name: 'Member', roles: ['member'] },
      ],
    },
    vms: { box: { transport: 'local', python: 'python3', workdir, gpus: 0 } },
    recipes: {
      serve: {
        kind: 'deploy',
        model: 'demo-model',
        vm: 'box',
        port: await getFreePort(),
        host: '127.0.0.1',
        healthPollSeconds: 0.3,
        healthTimeoutSeconds: 20,
        command: ['python3', FAKE_SERVER, '--port', '{port}', '--model', '{served_model_name}', '--startup-seconds', '0.5'],
      },
    },
    runs: { lostAfterSeconds: 600, pollSeconds: 0.3, maxConcurrentPerWorker: 4 },
  };
  const config = configSchema.parse(input);
  const logger = createLogger({ level: 'silent' });
  const chat = new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url });
  hosts = new HostPool(config.vms, logger);
  jobs = createJobsRuntime({
    config,
    redisUrl: redis.url,
    chat,
    hosts,
    vmControl: new AlwaysOnVmControl(),
    logger,
    queueName: uniquePrefix('q'),
    worker: { lockDuration: 4000, stalledInterval: 1000, pollMs: 300 },
    announcer: { channelIntervalMs: 20, updateIntervalMs: 100, claimTtlMs: 3000 },
  });
  jobs.startWorkers();
  deps = createHandlerDeps({ config, jobs, chat, clock: systemClock, logger, registry: createCommandRegistry(), hosts });
});

afterAll(async () => {
  // Servers outlive their jobs by design, so stop every one this file launched.
  const host = await hosts.get('box');
  const runIds = (() => {
    try {
      return readdirSync(path.join(workdir, 'runs'));
    } catch {
      return [];
    }
  })();
  for (const runId of runIds) await signalRun(host, path.join(workdir, 'runs', runId), 'KILL').catch(() => undefined);
  await jobs?.close();
  await hosts?.closeAll();
  await Promise.all([slack?.stop(), redis?.stop()]);
  rmSync(workdir, { recursive: true, force: true });
});

async function send(text: string, userId: string): Promise<string> {
  const replies: string[] = [];
  await dispatchCommand(
    { text, userId, channel: CHANNEL, source: 'slash', respond: async (reply) => void replies.push(typeof reply === 'string' ? reply : reply.text) },
    deps,
  );
  return replies.join('\n');
}

async function waitForStatus(runId: string, statuses: string[]): Promise<RunRecord> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const run = await jobs.runStore.require(runId);
    if (statuses.includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run #${runId} still ${run.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('deploy command', () => {
  it('reports nothing serving before a deploy', async () => {
    expect(await send('/deploy stop box', OWNER)).toBe('No deployment is serving on box.');
  });

  it('deploys, rejects a stranger, then stops', async () => {
    const queued = await send('/deploy serve', OWNER);
    const runId = /#(\d+)/.exec(queued)?.[1];
    expect(queued).toMatch(/^Queued: deployment #\d+ serve on box\./);

    const serving = await waitForStatus(runId!, ['serving', 'failed']);
    expect(serving.status).toBe('serving');

    const denied = await send('/deploy stop box', MEMBER);
    expect(denied).not.toContain('Asked deployment');
    expect(denied).toContain('Owner');
    expect((await jobs.runStore.require(runId!)).status).toBe('serving');

    expect(await send('/deploy stop box', OWNER)).toBe(`Asked deployment #${runId} on box to stop.`);
    const stopped = await waitForStatus(runId!, ['succeeded', 'failed']);
    expect(stopped.status).toBe('succeeded');
  });

  it('answers a usage error', async () => {
    expect(await send('/deploy', OWNER)).toContain('Usage: `/deploy <recipe>');
  });
});
