/**
 * VM power management in one object, for `src/main.ts`:
 *
 *   const vms = createVmRuntime({ config, redisUrl, chat, hosts, vmControl, logger });
 *   const jobs = createJobsRuntime({ ..., vmControl: vms.control });   // starts get recorded
 *   jobs.startWorkers(); await vms.startAutoStop({ runs: jobs.runStore }); // worker role
 *   const deps = { ...createHandlerDeps(...), vm: vms.ports };           // `/vm` and its buttons
 *   await vms.close();
 *
 * `vmControl` is the RoutingVmControl over AzureVmControl; this wraps it so every start
 * and deallocation, from any path, is recorded for the weekly savings.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

import type { ChatPort } from '../bot/chat-port.js';
import type { VmPorts } from '../commands/vm-deps.js';
import type { Config } from '../config/schema.js';
import type { HostProvider } from '../remote/host.js';
import type { VmControl } from '../remote/vm-control.js';
import { AutoStopper } from './auto-stop.js';
import { startAutoStopScheduler, type AutoStopScheduler } from './auto-stop-scheduler.js';
import { systemClock, type Clock } from './clock.js';
import type { RunRecord } from './run-types.js';
import { RecordingVmControl, VmActivityStore } from './vm-activity.js';

export interface VmRuntimeDeps {
  config: Config;
  redisUrl: string;
  chat: ChatPort;
  hosts: HostProvider;
  vmControl: VmControl;
  logger: Logger;
  clock?: Clock;
}

export interface VmRuntime {
  /** The VmControl to hand to the run worker and the handlers. */
  control: VmControl;
  activity: VmActivityStore;
  /** `deps.vm` for the command handlers. */
  ports: VmPorts;
  /** Starts the idle auto-stop job scheduler and its worker (the worker role only). */
  startAutoStop(options: { runs: { listActive(): Promise<RunRecord[]> }; everyMs?: number }): Promise<AutoStopScheduler>;
  close(): Promise<void>;
}

export function createVmRuntime(deps: VmRuntimeDeps): VmRuntime {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger.child({ component: 'vm' });
  // BullMQ requires maxRetriesPerRequest null on its connections; the store shares it.
  const redis = new Redis(deps.redisUrl, { maxRetriesPerRequest: null });
  const activity = new VmActivityStore(redis, deps.config.redisPrefix);
  const control = new RecordingVmControl(deps.vmControl, activity, clock);
  let scheduler: AutoStopScheduler | undefined;

  return {
    control,
    activity,
    ports: { control, activity, hosts: deps.hosts },
    async startAutoStop(options) {
      if (scheduler) return scheduler;
      const stopper = new AutoStopper({
        config: deps.config,
        control,
        activity,
        runs: options.runs,
        hosts: deps.hosts,
        chat: deps.chat,
        clock,
        logger,
      });
      scheduler = await startAutoStopScheduler({
        connection: redis,
        prefix: deps.config.redisPrefix,
        stopper,
        logger,
        ...(options.everyMs !== undefined ? { everyMs: options.everyMs } : {}),
      });
      logger.info({ vms: stopper.eligibleVms() }, 'idle auto-stop scheduled');
      return scheduler;
    },
    async close() {
      await scheduler?.close();
      redis.disconnect();
    },
  };
}
