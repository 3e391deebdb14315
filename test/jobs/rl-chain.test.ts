/**
 * A chained SFT then GRPO recipe end to end: real redis-server, real sshd as the VM,
 * the real trainer on tiny-random-phi3 and the fake Slack Web API. One /train runs both
 * stages and reports them in one thread.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SlackChat } from '../../src/bot/slack-chat.js';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { enqueueRun } from '../../src/jobs/run-queue.js';
import { checkpointLister } from '../../src/jobs/run-restart.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import { createJobsRuntime, type JobsRuntime } from '../../src/jobs/runtime.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';
import { startSshd, vmConfigFor, type TestSshd } from '../support/sshd.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const SAMPLE = path.join(REPO, 'python/trainops_trainer/samples/medical_sample.jsonl');
const PYTHON = execFileSync('bash', [path.join(REPO, 'scripts/python-env.sh')], { encoding: 'utf8' }).trim();
const CHANNEL = 'C0TRAIN01';
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

const PROMPTS = [
  { prompt: '发热三天怎么办？', answer: '多休息，多饮水。' },
  { prompt: '下列哪项是抗血小板药？A. 阿司匹林 B. 胰岛素', answer: 'A' },
];

describe('chained SFT then GRPO end to end', () => {
  let redis: TestRedis;
  let sshd: TestSshd;
  let slack: FakeSlack;
  let dataDir: string;
  let runtime: JobsRuntime | undefined;
  let hosts: HostPool | undefined;

  beforeAll(async () => {
    [redis, sshd, slack] = await Promise.all([startRedis(), startSshd(), startFakeSlack()]);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'rl-chain-'));
  });

  afterAll(async () => {
    await runtime?.close();
    await hosts?.closeAll();
    await Promise.all([redis?.stop(), sshd?.stop(), slack?.stop()]);
    await rm(dataDir, { recursive: true, force: true });
  });

  function makeConfig(prompts: string): Config {
    const input: ConfigInput = {
      redisPrefix: `${redis.prefix}${uniquePrefix('jobs')}`,
      slack: { mode: 'console', channel: CHANNEL, progressEverySeconds: 0.001 },
      team: { members: [{ id: 'U0LINA001', name: 'Lina', roles: ['admin'] }] },
      vms: { gpu1: { ...vmConfigFor(sshd), python: PYTHON, workdir: path.join(sshd.workdir, uniquePrefix('vm')) } },
      recipes: {
        'sft-rl': {
          kind: 'train',
          model: 'tiny-random-phi3',
          dataset: SAMPLE,
          format: 'medical-r1',
          hyperparameters: { logging_steps: 1, batch_size: 2, save_steps: 2 },
          stages: [
            { stage: 'sft', hyperparameters: { max_steps: 2, step_delay_seconds: 0.3 } },
            {
              stage: 'grpo',
              from: 'sft',
              dataset: prompts,
              format: 'prompt',
              hyperparameters: { max_steps: 2, num_generations: 2, max_completion_length: 8, rewards: 'format:0.5,answer:1' },
            },
          ],
        },
      },
      runs: { lostAfterSeconds: 600, pollSeconds: 0.2, maxConcurrentPerWorker: 2 },
    };
    return configSchema.parse(input);
  }

  async function waitForEnd(runId: string, timeoutMs = 240_000): Promise<RunRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await runtime!.runStore.require(runId);
      if (['succeeded', 'failed', 'cancelled', 'lost'].includes(run.status)) return run;
      if (Date.now() > deadline) throw new Error(`run #${runId} still ${run.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('runs both stages and reports them in one thread', async () => {
    const prompts = path.join(dataDir, 'prompts.jsonl');
    await writeFile(prompts, PROMPTS.map((row) => JSON.stringify(row)).join('\n') + '\n');
    const config = makeConfig(prompts);
    hosts = new HostPool(config.vms, logger);
    runtime = createJobsRuntime({
      config,
      redisUrl: redis.url,
      chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url, rejectRateLimitedCalls: true }),
      hosts,
      vmControl: new AlwaysOnVmControl(),
      logger,
      queueName: uniquePrefix('runs'),
      worker: { lockDuration: 4000, stalledInterval: 1000, pollMs: 200 },
      announcer: { channelIntervalMs: 20, updateIntervalMs: 100, claimTtlMs: 3000 },
    });
    const created = await runtime.runStore.create({ kind: 'train', recipe: 'sft-rl', vm: 'gpu1', userId: 'U0LINA001', channel: CHANNEL, overrides: {} });
    const run = await runtime.runThread.postThreadRoot(created);
    await enqueueRun(runtime.runQueue, run);
    runtime.startWorkers();

    const ended = await waitForEnd(run.id);
    await slack.waitFor(() => slack.callsOf('chat.postMessage').some((call) => call.body.thread_ts === run.threadTs && String(call.body.text).startsWith('✅')));

    const runDir = path.join(config.vms.gpu1!.workdir, 'runs', run.id);
    const runJson = JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8')) as { stages: Array<{ stage: string }> };
    expect(ended.status).toBe('succeeded');
    expect(runJson.stages.map((stage) => stage.stage)).toEqual(['sft', 'grpo']);
    expect(ended.outputPath).toBe(path.join(runDir, 'output', '1-grpo'));

    const roots = slack
      .callsOf('chat.update')
      .filter((call) => call.body.ts === run.threadTs)
      .map((call) => JSON.stringify(call.body.blocks));
    expect(roots.some((blocks) => blocks.includes('*阶段 1/2*：SFT') && blocks.includes('*损失*'))).toBe(true);
    expect(roots.some((blocks) => blocks.includes('*阶段 2/2*：GRPO') && blocks.includes('*奖励*'))).toBe(true);

    const replies = slack
      .callsOf('chat.postMessage')
      .filter((call) => call.status === 200 && call.body.thread_ts === run.threadTs)
      .map((call) => String(call.body.text));
    // Each stage reports its progress, and a backlog of replies may be merged into its newest.
    const sftReplies = replies.filter((text) => text.startsWith('[SFT] 步数 '));
    const grpoReplies = replies.filter((text) => /^\[GRPO\] 步数 \d\/2 · 奖励 /.test(text));
    expect(sftReplies.length).toBeGreaterThanOrEqual(1);
    expect(sftReplies.at(-1)).toMatch(/^\[SFT\] 步数 2\/2 /);
    expect(grpoReplies.length).toBeGreaterThanOrEqual(1);
    expect(grpoReplies.at(-1)).toMatch(/^\[GRPO\] 步数 2\/2 /);
    const finals = replies.filter((text) => text.startsWith('✅'));
    expect(finals).toHaveLength(1);
    expect(finals[0]).toContain('• 阶段 1/2 SFT：2 步，最终损失');
    expect(finals[0]).toContain('• 阶段 2/2 GRPO：2 步，最终奖励');
    // Four losses: the GRPO steps follow the SFT steps instead of replacing them.
    expect(finals[0]).toMatch(/(^|[^▁▂▃▄▅▆▇█])[▁▂▃▄▅▆▇█]{4}([^▁▂▃▄▅▆▇█]|$)/);

    // A restart resumes from the checkpoints of the latest stage.
    const checkpoints = await checkpointLister(config, hosts)(ended);
    expect(checkpoints.map((checkpoint) => checkpoint.path.slice(checkpoint.path.indexOf('/output/')))).toEqual(['/output/1-grpo/checkpoint-2']);
  });
});
