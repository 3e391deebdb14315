/**
 * The jobs runtime as the integration tests run it: on a real redis-server, posting to
 * the fake Slack Web API, with short BullMQ locks and fast announcements.
 *
 *   const { redis, sshd, slack, stop } = await startJobServers();   // sshd: the VM
 *   // or startLocalJobServers(), without sshd, when the VM is the local host
 *   const { runtime, close } = startTestJobsRuntime({ config, redis, slack });
 *   runtime.startWorkers();
 *   const run = await submitRun(runtime, { kind: 'train', recipe: 'demo', vm: 'gpu1', userId, channel, overrides: {} });
 *   const ended = await waitForStatus(runtime, run.id, ['succeeded', 'failed']);
 *   expect(threadReplies(slack, ended)).toContain('…');
 *   await close();
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';

import { pino } from 'pino';

import { SlackChat } from '../../src/bot/slack-chat.js';
import type { Config } from '../../src/config/schema.js';
import { enqueueRun } from '../../src/jobs/run-queue.js';
import { isFinalStatus } from '../../src/jobs/run-state.js';
import type { NewRun } from '../../src/jobs/run-store.js';
import type { RunRecord, RunStatus } from '../../src/jobs/run-types.js';
import { createJobsRuntime, type JobsRuntime, type JobsRuntimeDeps } from '../../src/jobs/runtime.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { signalRun } from '../../src/remote/launcher.js';
import type { VmControl } from '../../src/remote/vm-control.js';
import { startFakeSlack, type FakeSlack } from './fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from './redis.js';
import { startSshd, type TestSshd } from './sshd.js';

/** The servers of a jobs test: redis-server, sshd as the VM, and the fake Slack Web API. */
export interface JobServers {
  redis: TestRedis;
  sshd: TestSshd;
  slack: FakeSlack;
  stop(): Promise<void>;
}

/** Starts the three servers in parallel. When one fails to start, stops the others and rethrows. */
export async function startJobServers(): Promise<JobServers> {
  const [redis, sshd, slack] = await startAll([startRedis(), startSshd(), startFakeSlack()] as const);
  return { redis, sshd, slack, stop: () => stopAll([redis, sshd, slack]) };
}

/** The servers of a jobs test whose VM is the local host: redis-server and the fake Slack Web API. */
export type LocalJobServers = Omit<JobServers, 'sshd'>;

/** Starts redis-server and the fake Slack Web API in parallel, with startJobServers' clean-up on failure. */
export async function startLocalJobServers(): Promise<LocalJobServers> {
  const [redis, slack] = await startAll([startRedis(), startFakeSlack()] as const);
  return { redis, slack, stop: () => stopAll([redis, slack]) };
}

interface Stoppable {
  stop(): Promise<void>;
}

/** The started servers, in the order of the promises they come from. */
type Started<T extends readonly Promise<Stoppable>[]> = { -readonly [K in keyof T]: Awaited<T[K]> };

/** Waits for every server to start. When one fails, stops the ones that started and rethrows, so a failed set-up leaves nothing running. */
async function startAll<T extends readonly Promise<Stoppable>[]>(starting: T): Promise<Started<T>> {
  const started = await Promise.allSettled(starting);
  const failure = started.find((result) => result.status === 'rejected');
  if (!failure) return started.map((result) => (result as PromiseFulfilledResult<Stoppable>).value) as Started<T>;

  await Promise.all(started.map((result) => (result.status === 'fulfilled' ? result.value.stop() : undefined)));
  throw failure.reason;
}

async function stopAll(servers: readonly Stoppable[]): Promise<void> {
  await Promise.all(servers.map((server) => server.stop()));
}

/** Silent unless TEST_LOG_LEVEL names a pino level. */
export const testLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Short locks so a killed worker's job is re-delivered within seconds. */
export const WORKER_OPTIONS: JobsRuntimeDeps['worker'] = { lockDuration: 4000, stalledInterval: 1000, pollMs: 200 };
export const ANNOUNCER_OPTIONS: JobsRuntimeDeps['announcer'] = { channelIntervalMs: 20, updateIntervalMs: 100, claimTtlMs: 3000 };

export interface TestJobsRuntimeOptions {
  config: Config;
  redis: Pick<TestRedis, 'url'>;
  slack: Pick<FakeSlack, 'url'>;
  /** Default: every VM is always on. */
  vmControl?: VmControl;
  /** Default: a fresh queue name, so runtimes of other tests never take this one's jobs. */
  queueName?: string;
  /** Default: ANNOUNCER_OPTIONS. Replaces them as a whole, so unset fields take the Announcer's defaults. */
  announcer?: JobsRuntimeDeps['announcer'];
}

export interface TestJobsRuntime {
  runtime: JobsRuntime;
  hosts: HostPool;
  queueName: string;
  /** Closes the runtime, then the SSH connections of its host pool. */
  close(): Promise<void>;
}

/** Creates a jobs runtime with its own host pool. It starts no workers. */
export function startTestJobsRuntime(options: TestJobsRuntimeOptions): TestJobsRuntime {
  const queueName = options.queueName ?? uniquePrefix('runs');
  const hosts = new HostPool(options.config.vms, testLogger);
  const runtime = createJobsRuntime({
    config: options.config,
    redisUrl: options.redis.url,
    chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: options.slack.url, rejectRateLimitedCalls: true }),
    hosts,
    vmControl: options.vmControl ?? new AlwaysOnVmControl(),
    logger: testLogger,
    queueName,
    worker: WORKER_OPTIONS,
    announcer: options.announcer ?? ANNOUNCER_OPTIONS,
  });
  const close = async (): Promise<void> => {
    await runtime.close();
    await hosts.closeAll();
  };
  return { runtime, hosts, queueName, close };
}

/** Creates a run and posts its thread root, as the /train handler does before it queues the run. */
export async function createRunWithThread(runtime: JobsRuntime, request: NewRun): Promise<RunRecord> {
  const created = await runtime.runStore.create(request);
  return runtime.runThread.postThreadRoot(created);
}

/** Creates a run, posts its thread root and queues it, as the /train handler does. */
export async function submitRun(runtime: JobsRuntime, request: NewRun): Promise<RunRecord> {
  const rooted = await createRunWithThread(runtime, request);
  await enqueueRun(runtime.runQueue, rooted);
  return rooted;
}

/** A member who owns the runs (UOWNER1) and the one engineer of the on-call rotation (UONCALL1). */
export const OWNER_AND_ONCALL_TEAM = {
  members: [
    { id: 'UOWNER1', name: 'Owen', roles: ['member'] },
    { id: 'UONCALL1', name: 'Olga', roles: ['oncall'] },
  ],
  oncall: { rotation: ['UONCALL1'] },
};

/** Polls the stored run every 200 ms until `done` returns true, and rejects after timeoutMs. */
export async function waitForRun(
  runtime: Pick<JobsRuntime, 'runStore'>,
  runId: string,
  done: (run: RunRecord) => boolean,
  timeoutMs = 180_000,
): Promise<RunRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await runtime.runStore.require(runId);
    if (done(run)) return run;
    if (Date.now() > deadline) throw new Error(`run #${runId} still ${run.status} (attempt ${run.attempt}) after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Waits until the run has one of `statuses`. */
export async function waitForStatus(
  runtime: Pick<JobsRuntime, 'runStore'>,
  runId: string,
  statuses: readonly RunStatus[],
  timeoutMs = 180_000,
): Promise<RunRecord> {
  return waitForRun(runtime, runId, (run) => statuses.includes(run.status), timeoutMs);
}

/** Waits until the run reaches a final status: succeeded, failed, cancelled or lost. */
export async function waitForEnd(runtime: Pick<JobsRuntime, 'runStore'>, runId: string, timeoutMs = 180_000): Promise<RunRecord> {
  return waitForRun(runtime, runId, (run) => isFinalStatus(run.status), timeoutMs);
}

/** Texts of the replies Slack accepted in the run's thread, in posting order. */
export function threadReplies(slack: Pick<FakeSlack, 'callsOf'>, run: Pick<RunRecord, 'channel' | 'threadTs'>): string[] {
  return slack
    .callsOf('chat.postMessage')
    .filter((call) => call.status === 200 && call.body.channel === run.channel && call.body.thread_ts === run.threadTs)
    .map((call) => String(call.body.text));
}

/**
 * Sends KILL to the process of every run directory under `<workdir>/runs` on the VM.
 * Detached runs such as model servers outlive SSH by design, so a test that launches
 * them calls this before closing the runtime. `workdir` is read as a local path, because
 * the VM of the tests is an sshd on this machine.
 */
export async function killLaunchedRuns(hosts: HostPool, vmName: string, workdir: string): Promise<void> {
  const host = await hosts.get(vmName);
  const runIds = await readdir(path.join(workdir, 'runs')).catch(() => [] as string[]);
  for (const runId of runIds) await signalRun(host, path.join(workdir, 'runs', runId), 'KILL').catch(() => undefined);
}
