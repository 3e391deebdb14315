/**
 * Logs a BullMQ worker's events in one place; processors only return or throw.
 */
import type { Worker } from 'bullmq';
import type { Logger } from 'pino';

export function attachWorkerEventLogging(worker: Worker, logger: Logger): void {
  const log = logger.child({ queue: worker.name });

  worker.on('active', (job) => log.info({ jobId: job.id, runId: job.data?.runId, attemptsMade: job.attemptsMade }, 'job started'));
  worker.on('completed', (job) => log.info({ jobId: job.id, runId: job.data?.runId }, 'job completed'));
  worker.on('failed', (job, error) =>
    log.error({ jobId: job?.id, runId: job?.data?.runId, attemptsMade: job?.attemptsMade, err: error }, 'job failed'),
  );
  worker.on('stalled', (jobId) => log.warn({ jobId }, 'job stalled: its worker stopped renewing the lock; it is re-delivered'));
  worker.on('lockRenewalFailed', (jobIds) => log.warn({ jobIds }, 'job lock renewal failed; another worker may pick these jobs up'));
  worker.on('error', (error) => log.error({ err: error }, 'worker error'));
  worker.on('closed', () => log.info('worker closed'));
}
