/**
 * Deployments end to end: real redis-server, real sshd as the VM, the run worker, and a
 * fake OpenAI-compatible server (test/fixtures/fake_openai_server.py) started by the
 * recipe's command in place of vLLM.
 */
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { stopDeployment } from '../../src/jobs/deploy-worker.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import type { JobsRuntime } from '../../src/jobs/runtime.js';
import { getFreePort } from '../support/free-port.js';
import { killLaunchedRuns, startJobServers, startTestJobsRuntime, submitRun, threadReplies, waitForStatus, type JobServers, type TestJobsRuntime } from '../support/jobs-runtime.js';
import { uniquePrefix } from '../support/redis.js';
import { vmConfigFor } from '../support/sshd.js';

const FAKE_SERVER = path.resolve(import.meta.dirname, '../fixtures/fake_openai_server.py');
const CHANNEL = 'C0DEPLOY1';
const USER = 'U0ALICE01';

function serverCommand(mode: string): string[] {
  return ['python3', FAKE_SERVER, '--port', '{port}', '--model', '{served_model_name}', '--mode', mode, '--startup-seconds', '1'];
}

describe('deploy worker', () => {
  let servers: JobServers;
  let jobs: TestJobsRuntime;
  let runtime: JobsRuntime;
  let config: Config;
  let workdir: string;
  let port: number;

  beforeAll(async () => {
    servers = await startJobServers();
  });

  afterEach(async () => {
    await killLaunchedRuns(jobs.hosts, 'gpu1', workdir);
    await jobs.close();
  });

  afterAll(async () => {
    await servers?.stop();
  });

  async function start(): Promise<void> {
    const { redis, sshd, slack } = servers;
    workdir = path.join(sshd.workdir, uniquePrefix('vm'));
    port = await getFreePort();
    const deploy = { kind: 'deploy' as const, model: 'demo-model', port, host: '127.0.0.1', healthPollSeconds: 0.3, smokePrompt: 'hello' };
    const input: ConfigInput = {
      locale: 'en',
      redisPrefix: `${redis.prefix}${uniquePrefix('deploy')}`,
      slack: { mode: 'console', channel: CHANNEL },
      team: { members: [{ id: USER, name: 'Alice', roles: ['admin'] }] },
      vms: { gpu1: { ...vmConfigFor(sshd), workdir } },
      recipes: {
        good: { ...deploy, command: serverCommand('healthy'), healthTimeoutSeconds: 20 },
        stuck: { ...deploy, command: serverCommand('never-healthy'), healthTimeoutSeconds: 4 },
        crashing: { ...deploy, command: serverCommand('crash-after-start'), healthTimeoutSeconds: 20 },
      },
      runs: { lostAfterSeconds: 600, pollSeconds: 0.3, maxConcurrentPerWorker: 4 },
    };
    config = configSchema.parse(input);
    jobs = startTestJobsRuntime({ config, redis, slack });
    runtime = jobs.runtime;
    runtime.startWorkers();
  }

  function deploy(recipe: string): Promise<RunRecord> {
    return submitRun(runtime, { kind: 'deploy', recipe, vm: 'gpu1', userId: USER, channel: CHANNEL, overrides: {} });
  }

  function threadText(run: RunRecord): string {
    return threadReplies(servers.slack, run).join('\n');
  }

  it('serves a healthy server and reports it', async () => {
    await start();
    const run = await deploy('good');

    const serving = await waitForStatus(runtime, run.id, ['serving', 'failed']);

    expect(serving.status).toBe('serving');
    expect(serving.deployment?.models).toEqual(['demo-model']);
    expect(serving.deployment?.endpoint).toBe(`http://127.0.0.1:${port}/v1`);
    await servers.slack.waitFor(() => threadText(serving).includes('Deployed and serving'));
    const text = threadText(serving);
    expect(text).toContain('demo-model');
    expect(text).toMatch(/Smoke test \(\d+ ms\): 我是测试模型。/);
    const active = await runtime.runStore.listActive();
    expect(active.map((entry) => entry.id)).toContain(run.id);
  });

  it('keeps the old server when the new one never gets healthy', async () => {
    await start();
    const old = await waitForStatus(runtime, (await deploy('good')).id, ['serving', 'failed']);
    expect(old.status).toBe('serving');

    const stuck = await deploy('stuck');
    const failed = await waitForStatus(runtime, stuck.id, ['failed', 'serving']);

    expect(failed.status).toBe('failed');
    expect(failed.failureMessage).toContain('within 4 s');
    expect(failed.failureMessage).toContain(`#${old.id} keeps serving`);
    expect((await runtime.runStore.require(old.id)).status).toBe('serving');

    // Failure handling reports the failure and keeps the deploy's own message on the run.
    await servers.slack.waitFor(() => threadText(failed).includes(`#${failed.id} attempt 1 failed`));
    const handled = await runtime.runStore.require(failed.id);
    expect(handled.failureMessage).toContain(`#${old.id} keeps serving`);
  });

  it('replaces the old server once the new one is healthy', async () => {
    await start();
    const old = await waitForStatus(runtime, (await deploy('good')).id, ['serving', 'failed']);

    const replacement = await waitForStatus(runtime, (await deploy('good')).id, ['serving', 'failed']);

    expect(replacement.status).toBe('serving');
    expect(replacement.deployment?.replaced).toBe(old.id);
    expect(replacement.deployment?.port).toBe(old.deployment!.port + 1);
    const ended = await waitForStatus(runtime, old.id, ['succeeded', 'failed']);
    expect(ended.status).toBe('succeeded');
    await servers.slack.waitFor(() => threadText(ended).includes(`Deployment replaced by #${replacement.id}`));
  });

  it('fails a server that crashes after start', async () => {
    await start();
    const run = await deploy('crashing');

    const failed = await waitForStatus(runtime, run.id, ['failed', 'serving']);

    expect(failed.status).toBe('failed');
    expect(failed.exitCode).toBe(3);
    expect(failed.failureMessage).toContain('exited before passing its health check (exit code 3)');
    expect(failed.failureMessage).toContain('crashing as asked');
    // One final message: the failure report, with the reason the deployment failed.
    await servers.slack.waitFor(() => threadText(failed).includes(`#${failed.id} attempt 1 failed`));
    expect(threadText(failed)).toContain('exited before passing its health check');
    expect(threadText(failed)).not.toContain('❌ Deployment failed');
  });

  it('keeps the old server when the new one crashes', async () => {
    await start();
    const old = await waitForStatus(runtime, (await deploy('good')).id, ['serving', 'failed']);

    const failed = await waitForStatus(runtime, (await deploy('crashing')).id, ['failed', 'serving']);

    expect(failed.status).toBe('failed');
    expect(failed.failureMessage).toContain(`deployment #${old.id} keeps serving`);
    expect(failed.failureMessage).toContain('replace: stop_first');
    expect((await runtime.runStore.require(old.id)).status).toBe('serving');
  });

  it('rejects an adapter from an unfinished run', async () => {
    await start();
    const training = await runtime.runStore.create({ kind: 'train', recipe: 'good', vm: 'gpu1', userId: USER, channel: CHANNEL, overrides: {} });
    const created = await submitRun(runtime, { kind: 'deploy', recipe: 'good', vm: 'gpu1', userId: USER, channel: CHANNEL, overrides: {}, sourceRunId: training.id });

    const failed = await waitForStatus(runtime, created.id, ['failed', 'serving']);

    expect(failed.status).toBe('failed');
    expect(failed.failureClass).toBe('config_error');
    expect(failed.failureMessage).toBe(`run #${training.id} has not succeeded, so it has no adapter to serve`);
  });

  it('stops a serving deployment on request', async () => {
    await start();
    const serving = await waitForStatus(runtime, (await deploy('good')).id, ['serving', 'failed']);

    await stopDeployment({ store: runtime.runStore }, serving, config.vms.gpu1!, await jobs.hosts.get('gpu1'), USER);

    const stopped = await waitForStatus(runtime, serving.id, ['succeeded', 'failed']);
    expect(stopped.status).toBe('succeeded');
    expect(stopped.cancelRequestedBy).toBe(USER);
    await servers.slack.waitFor(() => threadText(stopped).includes(`Deployment stopped by <@${USER}>`));
    expect(threadText(stopped)).not.toContain('Training');
  });
});
