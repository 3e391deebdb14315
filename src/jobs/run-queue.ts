/**
 * The BullMQ queue of runs. One job per attempt of a run, with jobId
 * `run-<id>-a<attempt>`, so enqueueing the same attempt twice adds nothing.
 */
import { Queue, type ConnectionOptions } from 'bullmq';

import type { RunRecord } from './run-types.js';

// Not `runs`: BullMQ would then keep `<prefix>:runs:active`, the key RunStore uses for its active-run set.
export const RUN_QUEUE_NAME = 'run-jobs';

export interface RunJobData {
  runId: string;
  attempt: number;
}

export type RunQueue = Queue<RunJobData, void, string>;

/** `prefix` is the config's `redisPrefix`, so BullMQ's keys sit beside the bot's own. */
export function createRunQueue(connection: ConnectionOptions, prefix: string, name = RUN_QUEUE_NAME): RunQueue {
  return new Queue<RunJobData, void, string>(name, {
    connection,
    prefix,
    defaultJobOptions: {
      // Transient failures (SSH during sync, a Slack outage) are retried; bad input
      // is an UnrecoverableError and fails at once.
      attempts: 3,
      backoff: { type: 'exponential', delay: 30_000 },
      removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
      removeOnFail: { age: 30 * 24 * 3600 },
    },
  });
}

export function runJobId(runId: string, attempt: number): string {
  return `run-${runId}-a${attempt}`;
}

/** Adds the job for the run's current attempt; a duplicate call is a no-op. */
export async function enqueueRun(queue: RunQueue, run: Pick<RunRecord, 'id' | 'attempt' | 'recipe' | 'vm'>): Promise<void> {
  await queue.add(`${run.recipe}@${run.vm}`, { runId: run.id, attempt: run.attempt }, { jobId: runJobId(run.id, run.attempt) });
}
