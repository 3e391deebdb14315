/**
 * Runs the idle auto-stop check on a BullMQ job scheduler: one repeatable job for all
 * VMs, every `everyMs` (default one minute). BullMQ produces each iteration once however
 * many workers run, and the check itself claims warnings atomically in Redis, so extra
 * workers are safe. A scheduler that already exists is updated in place (upsert).
 */
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';

import type { AutoStopper } from './auto-stop.js';

export const AUTO_STOP_QUEUE_NAME = 'vm-auto-stop';
export const AUTO_STOP_SCHEDULER_ID = 'vm-idle-check';

export interface AutoStopSchedulerOptions {
  connection: ConnectionOptions;
  /** The config's `redisPrefix`. */
  prefix: string;
  stopper: AutoStopper;
  logger: Logger;
  /** Interval between checks in ms (default 60 000). The grace period is only as precise as this. */
  everyMs?: number;
  /** Queue name; tests use a fresh one. */
  queueName?: string;
  /** False in processes with only the bot role: they keep the schedule but run no check. */
  runWorker?: boolean;
}

export interface AutoStopScheduler {
  queue: Queue;
  worker?: Worker;
  close(): Promise<void>;
}

export async function startAutoStopScheduler(options: AutoStopSchedulerOptions): Promise<AutoStopScheduler> {
  const name = options.queueName ?? AUTO_STOP_QUEUE_NAME;
  const logger = options.logger.child({ module: 'auto-stop' });
  const queue = new Queue(name, { connection: options.connection, prefix: options.prefix });

  await queue.upsertJobScheduler(
    AUTO_STOP_SCHEDULER_ID,
    { every: options.everyMs ?? 60_000 },
    { name: 'idle-check', data: {}, opts: { removeOnComplete: { count: 50 }, removeOnFail: { count: 50 } } },
  );

  let worker: Worker | undefined;
  if (options.runWorker !== false) {
    worker = new Worker(
      name,
      async () => {
        const outcomes = await options.stopper.checkAll();
        logger.debug({ outcomes }, 'auto-stop check done');
        return outcomes;
      },
      // One check at a time per worker: a deallocation can take minutes and the next
      // iteration must not start a second one for the same VM.
      { connection: options.connection, prefix: options.prefix, concurrency: 1 },
    );
    worker.on('failed', (job, error) => logger.error({ err: error, jobId: job?.id }, 'auto-stop check job failed'));
    worker.on('error', (error) => logger.error({ err: error }, 'auto-stop worker error'));
  }

  return {
    queue,
    ...(worker ? { worker } : {}),
    async close() {
      await worker?.close();
      await queue.close();
    },
  };
}
