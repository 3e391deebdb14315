/**
 * /cancel against a local run directory: real redis-server, a real process group as
 * the trainer, and the fake Slack Web API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { configSchema, type Config } from '../../src/config/schema.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import type { JobsRuntime } from '../../src/jobs/runtime.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startTestJobsRuntime, threadReplies, type TestJobsRuntime } from '../support/jobs-runtime.js';
import { startRedis, stopChild, uniquePrefix, type TestRedis } from '../support/redis.js';

const CHANNEL = 'C0CANCEL1';

describe('RunControl.cancelRun', () => {
  let redis: TestRedis;
  let slack: FakeSlack;
  let workdir: string;
  const runtimes: TestJobsRuntime[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    [redis, slack] = await Promise.all([startRedis(), startFakeSlack()]);
    workdir = await mkdtemp(path.join(os.tmpdir(), 'run-control-'));
  });

  afterEach(async () => {
    for (const child of children.splice(0)) await stopChild(child);
    for (const started of runtimes.splice(0)) await started.close();
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), slack?.stop()]);
    await rm(workdir, { recursive: true, force: true });
  });

  interface Setup {
    runtime: JobsRuntime;
    /** The local VM's workdir: run directories are `<vmWorkdir>/runs/<id>`. */
    vmWorkdir: string;
  }

  function startRuntime(): Setup {
    const vmWorkdir = path.join(workdir, uniquePrefix('vm'));
    const config: Config = configSchema.parse({
      redisPrefix: `${redis.prefix}${uniquePrefix('jobs')}`,
      slack: { mode: 'console', channel: CHANNEL },
      team: { members: [{ id: 'U0ALICE01', name: 'Alice', roles: ['admin'] }] },
      vms: { local: { transport: 'local', workdir: vmWorkdir } },
      recipes: { demo: { kind: 'train', model: 'tiny-random-phi3', dataset: 'data.jsonl' } },
    });
    const started = startTestJobsRuntime({ config, redis, slack });
    runtimes.push(started);
    return { runtime: started.runtime, vmWorkdir };
  }

  /** Creates a run that is running at `step`, with `files` (pid, exit_code) in its run directory. */
  async function launchedRun({ runtime, vmWorkdir }: Setup, step: number, files: Record<string, string>): Promise<RunRecord> {
    let run = await runtime.runStore.create({ kind: 'train', recipe: 'demo', vm: 'local', userId: 'U0ALICE01', channel: CHANNEL, overrides: {} });
    run = await runtime.runThread.postThreadRoot(run);
    const now = new Date().toISOString();
    run = await runtime.runStore.update(run.id, () => ({ status: 'starting_vm' }));
    run = await runtime.runStore.update(run.id, () => ({ status: 'running', launchedAt: now, startedAt: now, step }));

    const dir = path.join(vmWorkdir, 'runs', run.id);
    await mkdir(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
    return run;
  }

  /** Starts a process group leader standing in for the trainer; its pid is the group id. */
  function startTrainerStandIn(): ChildProcess {
    const child = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    children.push(child);
    return child;
  }

  it('reports an exited trainer as already ended', async () => {
    const setup = startRuntime();
    const run = await launchedRun(setup, 10, { pid: '999999\n', exit_code: '0\n' });

    const outcome = await setup.runtime.runControl.cancelRun(run.id, 'U0BOB0001');

    expect(outcome.kind).toBe('already_ended');
    expect(outcome.run.cancelRequestedBy).toBeUndefined();
    expect(threadReplies(slack, run).filter((text) => text.includes('请求取消'))).toEqual([]);
  });

  it('promises a checkpoint only after step 1', async () => {
    const setup = startRuntime();
    const trainer = startTrainerStandIn();
    const exited = new Promise((resolve) => trainer.once('exit', resolve));
    const run = await launchedRun(setup, 0, { pid: `${String(trainer.pid)}\n` });

    const outcome = await setup.runtime.runControl.cancelRun(run.id, 'U0BOB0001');
    await exited;

    expect(outcome.kind).toBe('signalled');
    expect(trainer.signalCode).toBe('SIGTERM');
    const replies = threadReplies(slack, run);
    expect(replies).toContain('<@U0BOB0001> 请求取消，已通知训练进程停止。还没收到训练进度（进程可能还在准备），它会尽快退出…');
    expect(replies.filter((text) => text.includes('保存检查点'))).toEqual([]);
  });

  it('promises a checkpoint once training has steps', async () => {
    const setup = startRuntime();
    const trainer = startTrainerStandIn();
    const run = await launchedRun(setup, 5, { pid: `${String(trainer.pid)}\n` });

    const outcome = await setup.runtime.runControl.cancelRun(run.id, 'U0BOB0001');

    expect(outcome.kind).toBe('signalled');
    expect(threadReplies(slack, run)).toContain('<@U0BOB0001> 请求取消，训练正在保存检查点…');
  });
});
