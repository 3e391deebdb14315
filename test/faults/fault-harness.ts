/**
 * Shared set-up of the fault tests: real redis-server, real sshd as the VM, the real
 * trainer on tiny-random-phi3, the fake Slack Web API, and the jobs runtime with its
 * failure handling. Each test gets its own key prefix, queue and VM workdir.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import type { JobsRuntime } from '../../src/jobs/runtime.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import type { VmControl } from '../../src/remote/vm-control.js';
import type { FakeSlack } from '../support/fake-slack.js';
import { startTestJobsRuntime, submitRun } from '../support/jobs-runtime.js';
import { uniquePrefix, type TestRedis } from '../support/redis.js';
import { vmConfigFor, type TestSshd } from '../support/sshd.js';
import { PYTHON, SAMPLE_DATASET } from '../support/trainer-env.js';

export { ANNOUNCER_OPTIONS, threadReplies, waitForRun, WORKER_OPTIONS } from '../support/jobs-runtime.js';
export { REPO } from '../support/trainer-env.js';

export const CHANNEL = 'C0FAULT01';
export const OWNER = 'U0OWNER01';
export const ONCALL = ['U0ONCALL1', 'U0ONCALL2'];

/** Fast enough to end in seconds, slow enough to act between checkpoints. */
export const TRAIN_OPTIONS = { logging_steps: 1, batch_size: 2, max_steps: 20, save_steps: 5, step_delay_seconds: 0.3 };

export interface FaultConfigOptions {
  redis: TestRedis;
  sshd: TestSshd;
  vmName?: string;
  azure?: boolean;
  restart?: Record<string, unknown>;
  lostAfterSeconds?: number;
  hyperparameters?: Record<string, number>;
  dataset?: string;
  /** Port the bot connects to instead of sshd's own (a TcpProxy in front of it). */
  sshPort?: number;
}

export function faultConfig(options: FaultConfigOptions): Config {
  const vmName = options.vmName ?? 'gpu1';
  const workdir = path.join(options.sshd.workdir, uniquePrefix('vm'));
  const base = vmConfigFor(options.sshd, { python: PYTHON, workdir });
  const vm = {
    ...base,
    ...(options.sshPort && base.ssh ? { ssh: { ...base.ssh, port: options.sshPort } } : {}),
    ...(options.azure ? { azure: { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-gpu', vmName } } : {}),
  };
  const input: ConfigInput = {
    redisPrefix: `${options.redis.prefix}${uniquePrefix('fault')}`,
    slack: { mode: 'console', channel: CHANNEL, progressEverySeconds: 0.001 },
    team: {
      members: [
        { id: OWNER, name: 'Owner', roles: ['member'] },
        { id: ONCALL[0]!, name: 'Olga', roles: ['oncall', 'admin'] },
        { id: ONCALL[1]!, name: 'Oscar', roles: ['oncall'] },
      ],
      oncall: { rotation: ONCALL, ackMinutes: 60 },
    },
    vms: { [vmName]: vm },
    recipes: {
      demo: {
        kind: 'train',
        model: 'tiny-random-phi3',
        dataset: options.dataset ?? SAMPLE_DATASET,
        format: 'medical-r1',
        hyperparameters: { ...TRAIN_OPTIONS, ...options.hyperparameters },
        overrides: { nan_at: { field: 'debug_nan_at_step', type: 'integer', min: 1, max: 100000 } },
        restart: { waitSeconds: 0, ...options.restart },
      },
    },
    runs: { lostAfterSeconds: options.lostAfterSeconds ?? 600, pollSeconds: 0.2, maxConcurrentPerWorker: 4 },
  };
  return configSchema.parse(input);
}

export function startFaultRuntime(config: Config, redis: TestRedis, slack: FakeSlack, vmControl: VmControl = new AlwaysOnVmControl(), queueName = uniquePrefix('runs')) {
  return startTestJobsRuntime({ config, redis, slack, vmControl, queueName });
}

export async function createRun(runtime: JobsRuntime, vm: string, overrides: RunRecord['overrides'] = {}): Promise<RunRecord> {
  return submitRun(runtime, { kind: 'train', recipe: 'demo', vm, userId: OWNER, channel: CHANNEL, overrides });
}

export function runDirOn(config: Config, vmName: string, runId: string): string {
  return path.join(config.vms[vmName]!.workdir, 'runs', runId);
}

export interface TrainerEvent {
  type: string;
  step?: number;
  resumed_from?: string | null;
  error?: { type: string; message: string };
}

export async function readEvents(config: Config, vmName: string, runId: string): Promise<TrainerEvent[]> {
  const text = await readFile(path.join(runDirOn(config, vmName, runId), 'events.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TrainerEvent);
}

export async function countLaunches(config: Config, vmName: string, runId: string): Promise<number> {
  const log = await readFile(path.join(runDirOn(config, vmName, runId), 'train.log'), 'utf8');
  return log.split('\n').filter((line) => line.startsWith('=== attempt ')).length;
}

/** Writes the sample rows without one column, for the data error case. */
export async function writeRowsWithout(column: string, target: string): Promise<void> {
  const rows = (await readFile(SAMPLE_DATASET, 'utf8')).split('\n').filter(Boolean);
  const stripped = rows.map((line) => {
    const row = JSON.parse(line) as Record<string, unknown>;
    delete row[column];
    return JSON.stringify(row);
  });
  await writeFile(target, `${stripped.join('\n')}\n`);
}
