/**
 * A cancel that arrives while a run's trainer code is being synced: the run ends
 * cancelled and nothing is launched, for training and for the kinds that share
 * kind-job.ts (here a comm bench). Real redis-server, real sshd as the VM, fake Slack.
 * The host provider wraps the real SSH hosts only to send the cancel at the moment the
 * code upload starts.
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SlackChat } from '../../src/bot/slack-chat.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import type { CancelOutcome } from '../../src/jobs/run-control.js';
import type { RunKind, RunRecord } from '../../src/jobs/run-types.js';
import { createJobsRuntime, type JobsRuntime } from '../../src/jobs/runtime.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import type { Host, HostProvider } from '../../src/remote/host.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { ANNOUNCER_OPTIONS, startJobServers, submitRun, testLogger, threadReplies, waitForEnd, WORKER_OPTIONS, type JobServers } from '../support/jobs-runtime.js';
import { uniquePrefix } from '../support/redis.js';
import { vmConfigFor } from '../support/sshd.js';
import { PYTHON, SAMPLE_DATASET } from '../support/trainer-env.js';

const CHANNEL = 'C0CANCEL1';
const OWNER = 'U0OWNER01';

/** Hosts of `pool` whose code upload first runs `beforeUpload` with the VM's name. */
class UploadHookedHosts implements HostProvider {
  constructor(
    private readonly pool: HostPool,
    private readonly beforeUpload: (vmName: string) => Promise<void>,
  ) {}

  async get(vmName: string): Promise<Host> {
    const host = await this.pool.get(vmName);
    return {
      vmName: host.vmName,
      exec: (argv, options) => host.exec(argv, options),
      readFileRange: (file, offset, maxBytes) => host.readFileRange(file, offset, maxBytes),
      writeFile: (file, content, mode) => host.writeFile(file, content, mode),
      putDirectory: async (localPath, remotePath) => {
        await this.beforeUpload(vmName);
        await host.putDirectory(localPath, remotePath);
      },
      resolvePath: (file) => host.resolvePath(file),
      ping: () => host.ping(),
    };
  }

  invalidate(vmName: string): void {
    this.pool.invalidate(vmName);
  }

  closeAll(): Promise<void> {
    return this.pool.closeAll();
  }
}

let servers: JobServers;
let config: Config;
let runtime: JobsRuntime;
let hosts: UploadHookedHosts;
/** Run to cancel when the code upload to a VM starts, by VM name, and what the cancel returned. */
const cancelOnUpload = new Map<string, { runId: string; outcome?: CancelOutcome }>();

beforeAll(async () => {
  servers = await startJobServers();
  // One VM per run, each with its own workdir, so each run uploads the code once.
  const vm = (name: string) => vmConfigFor(servers.sshd, { python: PYTHON, workdir: path.join(servers.sshd.workdir, uniquePrefix(name)) });
  config = configSchema.parse({
    redisPrefix: `${servers.redis.prefix}${uniquePrefix('cancel-sync')}`,
    slack: { mode: 'console', channel: CHANNEL },
    team: { members: [{ id: OWNER, name: 'Owner', roles: ['member'] }] },
    vms: { gpu1: vm('train'), gpu2: vm('bench') },
    recipes: { demo: { kind: 'train', model: 'tiny-random-phi3', dataset: SAMPLE_DATASET, hyperparameters: { max_steps: 2 } } },
    runs: { pollSeconds: 0.2 },
  });

  hosts = new UploadHookedHosts(new HostPool(config.vms, testLogger), async (vmName) => {
    const pending = cancelOnUpload.get(vmName);
    if (pending && !pending.outcome) pending.outcome = await runtime.runControl.cancelRun(pending.runId, OWNER);
  });
  runtime = createJobsRuntime({
    config,
    redisUrl: servers.redis.url,
    chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: servers.slack.url, rejectRateLimitedCalls: true }),
    hosts,
    vmControl: new AlwaysOnVmControl(),
    logger: testLogger,
    queueName: uniquePrefix('runs'),
    worker: WORKER_OPTIONS,
    announcer: ANNOUNCER_OPTIONS,
  });
  runtime.startWorkers();
});

afterAll(async () => {
  await runtime?.close();
  await hosts?.closeAll();
  await servers?.stop();
});

/** Submits a run of `kind` on `vm`, cancels it when its code upload starts, and waits for its end. */
async function cancelDuringSync(kind: RunKind, recipe: string, vm: string): Promise<{ run: RunRecord; ended: RunRecord; outcome?: CancelOutcome }> {
  const run = await submitRun(runtime, { kind, recipe, vm, userId: OWNER, channel: CHANNEL, overrides: {} });
  cancelOnUpload.set(vm, { runId: run.id });
  const ended = await waitForEnd(runtime, run.id, 60_000);
  return { run, ended, outcome: cancelOnUpload.get(vm)?.outcome };
}

/** Returns whether the launcher wrote anything for the run: its pid file or an attempt line in train.log. */
async function wasLaunched(vm: string, runId: string): Promise<boolean> {
  const runDir = path.join(config.vms[vm]!.workdir, 'runs', runId);
  const pidExists = await access(path.join(runDir, 'pid')).then(
    () => true,
    () => false,
  );
  const log = await readFile(path.join(runDir, 'train.log'), 'utf8').catch(() => '');
  return pidExists || log.includes('=== attempt ');
}

describe('cancel during code sync', () => {
  it('never launches a training run', async () => {
    const { run, ended, outcome } = await cancelDuringSync('train', 'demo', 'gpu1');

    expect(outcome?.kind).toBe('cancelled_before_launch');
    expect(ended.status).toBe('cancelled');
    expect(ended.launchedAt).toBeUndefined();
    expect(await wasLaunched('gpu1', run.id)).toBe(false);
    await servers.slack.waitFor(() => threadReplies(servers.slack, run).some((text) => text.startsWith('🛑')));
    expect(threadReplies(servers.slack, run).filter((text) => text.startsWith('🛑'))).toEqual([`🛑 已取消（<@${OWNER}>），停在第 0 步。`]);
  });

  it('never launches a comm bench', async () => {
    const { run, ended, outcome } = await cancelDuringSync('bench', 'comm', 'gpu2');

    expect(outcome?.kind).toBe('cancelled_before_launch');
    expect(ended.status).toBe('cancelled');
    expect(ended.launchedAt).toBeUndefined();
    expect(await wasLaunched('gpu2', run.id)).toBe(false);
  });
});
