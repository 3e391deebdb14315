import type { Logger } from 'pino';

import type { Config } from '../config/schema.js';
import type { EnqueueRun, HandlerDeps } from '../commands/deps.js';
import type { PlanPorts } from '../commands/plan-command.js';
import type { CommandRegistry } from '../commands/registry.js';
import type { Clock } from '../jobs/clock.js';
import { enqueueRun } from '../jobs/run-queue.js';
import type { JobsRuntime } from '../jobs/runtime.js';
import type { HostProvider } from '../remote/host.js';
import type { VmControl } from '../remote/vm-control.js';
import type { ChatPort } from './chat-port.js';
import { translator } from './i18n.js';

/** Builds the ports the command handlers get from the jobs runtime and the chat adapter. */
export interface HandlerDepsSources {
  config: Config;
  jobs: JobsRuntime;
  chat: ChatPort;
  clock: Clock;
  logger: Logger;
  registry: CommandRegistry;
  vmControl?: VmControl;
  hosts?: HostProvider;
  plan?: PlanPorts;
}

export function createHandlerDeps(sources: HandlerDepsSources): HandlerDeps {
  const { jobs } = sources;
  return {
    config: sources.config,
    runStore: jobs.runStore,
    runControl: jobs.runControl,
    enqueue: createEnqueue(jobs),
    chat: sources.chat,
    clock: sources.clock,
    logger: sources.logger,
    translate: translator,
    registry: sources.registry,
    restarts: jobs.failures.restartPort,
    oncall: jobs.failures.oncallPort,
    ...(sources.vmControl ? { vmControl: sources.vmControl } : {}),
    ...(sources.hosts ? { hosts: sources.hosts } : {}),
    ...(sources.plan ? { plan: sources.plan } : {}),
  };
}

/**
 * Stores the run, posts its thread root, then queues its job. The record is written
 * before anything is announced, and the job carries the thread so every reply lands in it.
 */
export function createEnqueue(jobs: Pick<JobsRuntime, 'runStore' | 'runThread' | 'runQueue'>): EnqueueRun {
  return async (request) => {
    const created = await jobs.runStore.create(request);
    const run = await jobs.runThread.postThreadRoot(created);
    await enqueueRun(jobs.runQueue, run);
    return run;
  };
}
