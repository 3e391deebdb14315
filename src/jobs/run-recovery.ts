import type { Logger } from 'pino';

import type { Announcer } from './announcer.js';
import { handleRunFailure, type FailureDeps } from './run-failure.js';
import { runJobId, type RunQueue } from './run-queue.js';
import { queueAttempt } from './run-restart.js';
import type { RunStore } from './run-store.js';
import { outcomeKey } from './run-thread.js';
import type { RunRecord } from './run-types.js';

/**
 * Brings every run up to date when a worker process starts, after a crash or on a
 * second machine. BullMQ re-delivers the job of a worker that died (its lock expires
 * and the stalled check moves it back to the queue), and the job resumes at the
 * stored event offset, so missed events are reported once. This pass covers what
 * re-delivery cannot:
 *
 * - an active run whose job is gone, completed or failed (a crash between storing
 *   `restarting` and queueing the attempt, or a job that used up its retries while
 *   the trainer kept running) gets its job back under the same id;
 * - replies a dead worker stored in a run's outbox but never posted are posted;
 * - a failed or lost attempt whose final message (the failure report, `outcomeKey`)
 *   was never posted goes through failure handling again (report, restart policy,
 *   paging), each step keyed.
 *
 * Every step is safe to run in several processes at once.
 */

export interface RecoveryDeps {
  store: RunStore;
  queue: RunQueue;
  announcer: Pick<Announcer, 'isDone'>;
  failureDeps: FailureDeps;
  logger: Logger;
  /** Posts replies left in the run's outbox (RunThread.flushOutbox). */
  flushOutbox?(run: RunRecord): Promise<unknown>;
  /** Ended runs looked at for a missing failure report; older ones are left alone. */
  recentLimit?: number;
  /** Failures older than this (ms, default one day) are left alone: paging for them would only be noise. */
  maxFailureAgeMs?: number;
}

export interface RecoveryReport {
  requeued: string[];
  failuresHandled: string[];
}

const LIVE_JOB_STATES = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);

export async function recoverRuns(deps: RecoveryDeps): Promise<RecoveryReport> {
  const report: RecoveryReport = { requeued: [], failuresHandled: [] };

  for (const run of await deps.store.listActive()) {
    try {
      if (await ensureAttemptJob(deps, run)) report.requeued.push(run.id);
      if (deps.flushOutbox && run.outbox && run.outbox.length > 0) await deps.flushOutbox(run);
    } catch (error) {
      deps.logger.error({ err: error, runId: run.id }, 'could not recover active run');
    }
  }

  const oldest = deps.failureDeps.clock.now().getTime() - (deps.maxFailureAgeMs ?? 24 * 3600_000);
  for (const run of await deps.store.listRecent(deps.recentLimit ?? 50)) {
    if ((run.status !== 'failed' && run.status !== 'lost') || !run.failureClass || run.failureClass === 'cancelled') continue;
    if (!run.endedAt || new Date(run.endedAt).getTime() < oldest) continue;
    if (await deps.announcer.isDone(outcomeKey(run))) continue;
    try {
      deps.logger.info({ runId: run.id, attempt: run.attempt }, 'failure report missing after a restart; handling the failure now');
      await handleRunFailure(deps.failureDeps, {
        runId: run.id,
        attempt: run.attempt,
        endEvent: null,
        exitCode: run.exitCode ?? null,
        hostReachable: run.status !== 'lost',
        classification: { failureClass: run.failureClass, detail: run.failureMessage ?? '' },
      });
      report.failuresHandled.push(run.id);
    } catch (error) {
      deps.logger.error({ err: error, runId: run.id }, 'could not finish failure handling of run');
    }
  }

  if (report.requeued.length > 0 || report.failuresHandled.length > 0) deps.logger.info(report, 'runs recovered');
  return report;
}

/** Makes sure the current attempt has a live job; returns true when one was added. */
async function ensureAttemptJob(deps: RecoveryDeps, run: RunRecord): Promise<boolean> {
  const jobId = runJobId(run.id, run.attempt);
  const job = await deps.queue.getJob(jobId);
  const state = job ? await job.getState() : 'missing';
  if (LIVE_JOB_STATES.has(state)) return false;

  if (job && state === 'failed') {
    deps.logger.warn({ runId: run.id, jobId }, 'job of an active run had failed; retrying it');
    await job.retry('failed').catch((error: unknown) => deps.logger.info({ err: error, jobId }, 'job already retried by another process'));
    return true;
  }
  if (job && state === 'completed') {
    // Same id is needed for exactly-once queueing, so the finished job must go first.
    await job.remove().catch((error: unknown) => deps.logger.info({ err: error, jobId }, 'job already replaced by another process'));
  }
  deps.logger.warn({ runId: run.id, jobId, state }, 'active run had no live job; queueing its attempt again');
  await queueAttempt(deps, run);
  return true;
}
