/**
 * The run machinery in one object, for `src/main.ts`:
 *
 *   const jobs = createJobsRuntime({ config, redisUrl, chat, hosts, vmControl, logger });
 *   jobs.startWorkers();                  // only in processes with the worker role
 *   const run = await jobs.runStore.create({ kind: 'train', recipe, vm, userId, channel, overrides });
 *   await jobs.runThread.postThreadRoot(run);
 *   await enqueueRun(jobs.runQueue, run);
 *   await jobs.close();
 *
 * interface JobsRuntimeDeps { config; redisUrl; chat; hosts; vmControl; logger; clock?; codeSource?; queueName?; worker?; announcer?; onRunChanged? }
 * interface JobsRuntime { runQueue; runStore; runControl; runThread; announcer; failures; startWorkers(); close() }
 */
import { Redis } from 'ioredis';
import type { Worker } from 'bullmq';
import type { Logger } from 'pino';

import type { ChatPort } from '../bot/chat-port.js';
import { translator } from '../bot/i18n.js';
import type { Config } from '../config/schema.js';
import { findPythonRoot } from '../remote/code-sync.js';
import type { HostProvider } from '../remote/host.js';
import type { VmControl } from '../remote/vm-control.js';
import { Announcer, type AnnouncerOptions } from './announcer.js';
import { createFailureRuntime, type FailureRuntime } from './failure-runtime.js';
import { systemClock, type Clock } from './clock.js';
import { RunControl } from './run-control.js';
import { handleRunFailure } from './run-failure.js';
import { recoverRuns } from './run-recovery.js';
import { createRunQueue, RUN_QUEUE_NAME, type RunJobData, type RunQueue } from './run-queue.js';
import { RunStore } from './run-store.js';
import { RunThread } from './run-thread.js';
import { startRunWorker, type RunWorkerDeps } from './run-worker.js';
import type { RunRecord } from './run-types.js';

export interface JobsRuntimeDeps {
  config: Config;
  redisUrl: string;
  chat: ChatPort;
  hosts: HostProvider;
  vmControl: VmControl;
  logger: Logger;
  clock?: Clock;
  /** Local trainer code shipped to VMs; default the repository's `python/`. */
  codeSource?: string;
  /** Queue name; tests use a fresh one per test. */
  queueName?: string;
  worker?: Pick<RunWorkerDeps, 'lockDuration' | 'stalledInterval' | 'maxStalledCount' | 'pollMs'>;
  announcer?: Pick<AnnouncerOptions, 'channelIntervalMs' | 'updateIntervalMs' | 'updatesPerMinute' | 'claimTtlMs'>;
  /** Called after every stored run change that reaches the run's thread (the plan's `onRunUpdated`). */
  onRunChanged?: (run: RunRecord) => Promise<void>;
}

export interface JobsRuntime {
  runQueue: RunQueue;
  runStore: RunStore;
  runControl: RunControl;
  runThread: RunThread;
  announcer: Announcer;
  /** Failure handling, on-call paging and restarts (ports for /restart and /oncall). */
  failures: FailureRuntime;
  /** Starts the run worker in this process (the worker role); idempotent. */
  startWorkers(): void;
  /** Stops the worker (its runs return to the queue for another worker), the queue and the Redis connections. */
  close(): Promise<void>;
}

export function createJobsRuntime(deps: JobsRuntimeDeps): JobsRuntime {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger.child({ component: 'jobs' });
  const prefix = deps.config.redisPrefix;
  // BullMQ requires maxRetriesPerRequest null on its connections; the store shares it.
  const redis = new Redis(deps.redisUrl, { maxRetriesPerRequest: null });
  const t = translator(deps.config.locale);

  const runStore = new RunStore(redis, prefix, clock);
  const announcer = new Announcer({ chat: deps.chat, redis, keys: runStore.keys, clock, logger, ...deps.announcer });
  const runThread = new RunThread({
    announcer,
    store: runStore,
    t,
    logger,
    lostAfterSeconds: deps.config.runs.lostAfterSeconds,
    ...(deps.onRunChanged ? { onRunChanged: deps.onRunChanged } : {}),
  });
  const queueName = deps.queueName ?? RUN_QUEUE_NAME;
  const runQueue = createRunQueue(redis, prefix, queueName);
  const runControl = new RunControl({ config: deps.config, store: runStore, queue: runQueue, thread: runThread, hosts: deps.hosts, clock, logger });
  const failures = createFailureRuntime({ config: deps.config, redis, store: runStore, queue: runQueue, announcer, hosts: deps.hosts, vmControl: deps.vmControl, clock, logger });

  let worker: Worker<RunJobData, void, string> | undefined;

  return {
    runQueue,
    runStore,
    runControl,
    runThread,
    announcer,
    failures,
    startWorkers() {
      if (worker) return;
      worker = startRunWorker({
        config: deps.config,
        connection: redis,
        prefix,
        queueName,
        store: runStore,
        thread: runThread,
        hosts: deps.hosts,
        vmControl: deps.vmControl,
        clock,
        logger,
        codeSource: deps.codeSource ?? findPythonRoot(),
        onRunFailure: (input) => handleRunFailure(failures.failureDeps, input),
        ...deps.worker,
      });
      failures.startWorkers();
      void recoverRuns({ store: runStore, queue: runQueue, announcer, failureDeps: failures.failureDeps, logger, flushOutbox: (run) => runThread.flushOutbox(run) }).catch(
        (error: unknown) => logger.error({ err: error }, 'run recovery failed'),
      );
    },
    async close() {
      if (worker) {
        // Following a run can take hours: abort it so the job goes back to the queue.
        worker.cancelAllJobs('worker closing');
        await worker.close();
      }
      await failures.close();
      await announcer.drain();
      await runQueue.close();
      redis.disconnect();
    },
  };
}
