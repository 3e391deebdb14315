/**
 * A chained SFT then GRPO recipe end to end: real redis-server, real sshd as the VM,
 * the real trainer on tiny-random-phi3 and the fake Slack Web API. One /train runs both
 * stages and reports them in one thread.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { checkpointLister } from '../../src/jobs/run-restart.js';
import { startJobServers, startTestJobsRuntime, submitRun, threadReplies, waitForEnd, type JobServers, type TestJobsRuntime } from '../support/jobs-runtime.js';
import { uniquePrefix } from '../support/redis.js';
import { vmConfigFor } from '../support/sshd.js';
import { PYTHON, SAMPLE_DATASET } from '../support/trainer-env.js';

const CHANNEL = 'C0TRAIN01';

const PROMPTS = [
  { prompt: '发热三天怎么办？', answer: '多休息，多饮水。' },
  { prompt: '下列哪项是抗血小板药？A. 阿司匹林 B. 胰岛素', answer: 'A' },
];

describe('chained SFT then GRPO end to end', () => {
  let servers: JobServers;
  let dataDir: string;
  let jobs: TestJobsRuntime | undefined;

  beforeAll(async () => {
    servers = await startJobServers();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'rl-chain-'));
  });

  afterAll(async () => {
    await jobs?.close();
    await servers?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  function makeConfig(prompts: string): Config {
    const { redis, sshd } = servers;
    const input: ConfigInput = {
      redisPrefix: `${redis.prefix}${uniquePrefix('jobs')}`,
      slack: { mode: 'console', channel: CHANNEL, progressEverySeconds: 0.001 },
      team: { members: [{ id: 'U0LINA001', name: 'Lina', roles: ['admin'] }] },
      vms: { gpu1: { ...vmConfigFor(sshd), python: PYTHON, workdir: path.join(sshd.workdir, uniquePrefix('vm')) } },
      recipes: {
        'sft-rl': {
          kind: 'train',
          model: 'tiny-random-phi3',
          dataset: SAMPLE_DATASET,
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

  it('runs both stages and reports them in one thread', async () => {
    const { redis, slack } = servers;
    const prompts = path.join(dataDir, 'prompts.jsonl');
    await writeFile(prompts, PROMPTS.map((row) => JSON.stringify(row)).join('\n') + '\n');
    const config = makeConfig(prompts);
    jobs = startTestJobsRuntime({ config, redis, slack });
    const { runtime, hosts } = jobs;
    const run = await submitRun(runtime, { kind: 'train', recipe: 'sft-rl', vm: 'gpu1', userId: 'U0LINA001', channel: CHANNEL, overrides: {} });
    runtime.startWorkers();

    const ended = await waitForEnd(runtime, run.id, 240_000);
    await slack.waitFor(() => threadReplies(slack, run).some((text) => text.startsWith('✅')));

    const runDir = path.join(config.vms.gpu1!.workdir, 'runs', run.id);
    const runJson = JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8')) as { stages: Array<{ stage: string }> };
    expect(ended.status).toBe('succeeded');
    expect(runJson.stages.map((stage) => stage.stage)).toEqual(['sft', 'grpo']);
    expect(ended.outputPath).toBe(path.join(runDir, 'output', '1-grpo'));

    const roots = slack
      .callsOf('chat.update')
      .filter((call) => call.body.ts === run.threadTs)
      .map((call) => JSON.stringify(call.body.blocks));
    // Root updates are coalesced, so a two-step SFT stage may pass before one shows its loss;
    // the SFT losses are checked in the replies below.
    expect(roots.some((blocks) => blocks.includes('*阶段 1/2*：SFT'))).toBe(true);
    expect(roots.some((blocks) => blocks.includes('*阶段 2/2*：GRPO') && blocks.includes('*奖励*'))).toBe(true);

    const replies = threadReplies(slack, run);
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
