/**
 * Failure handling, on-call and restart wired together, for the jobs runtime:
 *
 *   const failures = createFailureRuntime({ config, redis, store, queue, announcer, hosts, vmControl, clock, logger });
 *   failures.startWorkers();                         // escalation jobs, in worker processes
 *   await handleRunFailure(failures.failureDeps, { runId, attempt, endEvent, exitCode, hostReachable });
 *   deps.restarts = failures.restartPort;            // for /restart
 *   deps.oncall = failures.oncallPort;               // for /oncall and the "I'm on it" button
 *   await failures.close();
 */
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

import { translator } from '../bot/i18n.js';
import type { OncallPort } from '../commands/oncall-command.js';
import type { RestartPort } from '../commands/restart-command.js';
import type { Config } from '../config/schema.js';
import type { HostProvider } from '../remote/host.js';
import type { VmControl } from '../remote/vm-control.js';
import type { Announcer } from './announcer.js';
import type { Clock } from './clock.js';
import { createEscalationQueue, OncallPager, startEscalationWorker, type EscalationJob } from './oncall-paging.js';
import { resolveOncall } from './oncall-rotation.js';
import { OncallStore } from './oncall-store.js';
import { logTailReader, type FailureDeps } from './run-failure.js';
import type { RunQueue } from './run-queue.js';
import { checkpointLister, restartRun } from './run-restart.js';
import type { RunStore } from './run-store.js';

export interface FailureRuntimeDeps {
  config: Config;
  /** Connection with `maxRetriesPerRequest: null`, shared with BullMQ. */
  redis: Redis;
  store: RunStore;
  queue: RunQueue;
  announcer: Announcer;
  hosts: HostProvider;
  vmControl: VmControl;
  clock: Clock;
  logger: Logger;
}

export interface FailureRuntime {
  failureDeps: FailureDeps;
  pager: OncallPager;
  oncallStore: OncallStore;
  restartPort: RestartPort;
  oncallPort: OncallPort;
  /** Starts the escalation worker in this process; idempotent. */
  startWorkers(): void;
  close(): Promise<void>;
}

export function createFailureRuntime(deps: FailureRuntimeDeps): FailureRuntime {
  const { config, redis, store, clock } = deps;
  const logger = deps.logger.child({ module: 'failures' });
  const prefix = config.redisPrefix;
  const t = translator(config.locale);

  const oncallStore = new OncallStore(redis, prefix);
  const escalationQueue = createEscalationQueue(redis, prefix);
  const pager = new OncallPager({
    config,
    store: oncallStore,
    announcer: deps.announcer,
    queue: escalationQueue,
    clock,
    logger,
    translate: translator,
    getRun: (id) => store.get(id),
  });

  const failureDeps: FailureDeps = {
    config,
    store,
    queue: deps.queue,
    announcer: deps.announcer,
    clock,
    logger,
    t,
    listCheckpoints: checkpointLister(config, deps.hosts),
    readLogTail: logTailReader(config, deps.hosts),
    pager,
    vmControl: deps.vmControl,
  };

  const oncallState = async (now: Date) => resolveOncall(config.team.oncall, config.timezone, now, await oncallStore.getOverride());
  const restartPort: RestartPort = {
    restart: (request) => restartRun(failureDeps, request),
    oncallState,
  };
  const oncallPort: OncallPort = {
    state: oncallState,
    setOverride: (override) => oncallStore.setOverride(override),
    acknowledge: (runId, attempt, userId) => pager.acknowledge(runId, attempt, userId),
  };

  let worker: Worker<EscalationJob> | undefined;
  return {
    failureDeps,
    pager,
    oncallStore,
    restartPort,
    oncallPort,
    startWorkers() {
      worker ??= startEscalationWorker(pager, redis, prefix, logger);
    },
    async close() {
      await worker?.close();
      await escalationQueue.close();
    },
  };
}
