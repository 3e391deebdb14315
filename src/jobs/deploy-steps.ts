/**
 * Steps shared by deploy, data set check and comm bench runs. They start the VM when
 * needed, sync the trainer code, launch a command detached through the run-directory
 * lock, wait for it to exit, and store and announce the outcome.
 * Training has its own richer path in `run-worker.ts` (events, checkpoints, chart).
 */
import { WaitingError, type Job } from 'bullmq';
import type { Logger } from 'pino';

import type { VmConfig } from '../config/schema.js';
import { syncCode } from '../remote/code-sync.js';
import type { Host } from '../remote/host.js';
import { isConnectionError } from '../remote/errors.js';
import { readRunStatus, signalRun, type RemoteRunState } from '../remote/launcher.js';
import { formatKindOutcome } from './deploy-outcome.js';
import type { RunFailureInput } from './run-failure.js';
import type { RunJobData } from './run-queue.js';
import { isFinalStatus } from './run-state.js';
import { outcomeKey } from './run-thread.js';
import type { RunWorkerDeps } from './run-worker.js';
import type { RunRecord, RunStatus } from './run-types.js';
import { recordRunEnd } from './run-outcome.js';
import { startVmForRun } from './vm-start.js';

/** Job context a kind processor receives from the run worker besides its deps. */
export interface KindJobContext {
  job: Job<RunJobData>;
  token?: string;
  signal?: AbortSignal;
  logger: Logger;
}

/** Thrown inside a processor when the worker is closing; `returnJobToQueue` hands the job back. */
export class WorkerClosingError extends Error {
  constructor() {
    super('worker closing');
    this.name = 'WorkerClosingError';
  }
}

/** Starts a managed VM that is not running (announcing it in the thread) and returns its host. */
export async function prepareHost(deps: RunWorkerDeps, initial: RunRecord, logger: Logger): Promise<{ run: RunRecord; host: Host }> {
  const run = await startVmForRun(deps, initial);
  logger.info({ vm: run.vm }, 'VM running');
  return { run, host: await deps.hosts.get(run.vm) };
}

/**
 * Ends a run cancelled before its process was launched (a /cancel while the VM started)
 * and returns true. Returns false when the run should go on.
 */
export async function endIfCancelledBeforeLaunch(deps: RunWorkerDeps, run: RunRecord, logger: Logger): Promise<boolean> {
  const stored = await deps.store.require(run.id);
  if (!stored.cancelRequestedBy || stored.launchedAt) return false;
  await finishRun(deps, stored, 'cancelled', { failureClass: 'cancelled' }, logger);
  return true;
}

/**
 * Sends SIGTERM to a just-launched process when its run has a cancel request: one that
 * arrived after the last check before the launch found no process to signal. The job
 * then detects the exit and ends the run as cancelled.
 */
export async function stopIfCancelledDuringLaunch(host: Host, runDir: string, launched: RunRecord, logger: Logger): Promise<void> {
  if (!launched.cancelRequestedBy) return;
  const outcome = await signalRun(host, runDir, 'TERM');
  logger.info({ outcome, cancelRequestedBy: launched.cancelRequestedBy }, 'cancel arrived during the launch; process signalled');
}

/** Ships the trainer code to the VM (skipped when unchanged) and records its folder on the run. */
export async function syncTrainerCode(deps: RunWorkerDeps, run: RunRecord, host: Host, vm: VmConfig, logger: Logger): Promise<RunRecord> {
  let current = run;
  if (!['running', 'serving'].includes(current.status)) {
    current = await deps.store.transition(current.id, 'syncing', { startedAt: current.startedAt ?? deps.clock.now().toISOString() });
    await deps.thread.refreshRoot(current);
  }
  const synced = await syncCode(host, { localDir: deps.codeSource, workdir: vm.workdir });
  logger.info({ codeDir: synced.codeDir, uploaded: synced.uploaded }, 'trainer code synced');
  return deps.store.update(current.id, () => ({ codeDir: synced.codeDir }));
}

/** Marks the run running once its process is launched (or re-attached). */
export async function markLaunched(deps: RunWorkerDeps, run: RunRecord, status: RunStatus = 'running'): Promise<RunRecord> {
  const now = deps.clock.now().toISOString();
  const launched = await deps.store.update(run.id, (stored) => ({
    status: stored.status === 'serving' ? 'serving' : status,
    launchedAt: stored.launchedAt ?? now,
    startedAt: stored.startedAt ?? now,
  }));
  await deps.thread.refreshRoot(launched);
  return launched;
}

/** How waiting for a process ended: it exited, or its host stayed unreachable past `runs.lostAfterSeconds`. */
export type ExitWait = { exited: true; state: RemoteRunState } | { exited: false; unreachableForMs: number };

/**
 * Polls the run directory until its process has exited, every `pollMs` of the clock.
 * A dropped connection is retried through a fresh pooled host until the host has been
 * unreachable for `runs.lostAfterSeconds`. Throws WorkerClosingError when `signal`
 * aborts, so the job goes back to the queue.
 */
export async function waitForExit(deps: RunWorkerDeps, run: RunRecord, runDir: string, pollMs: number, signal?: AbortSignal): Promise<ExitWait> {
  let unreachableSince: number | undefined;
  for (;;) {
    if (signal?.aborted) throw new WorkerClosingError();
    try {
      const host = await deps.hosts.get(run.vm);
      const state = await readRunStatus(host, runDir);
      if (state.exitCode !== null || !state.alive) return { exited: true, state };
      unreachableSince = undefined;
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      deps.hosts.invalidate(run.vm);
      const now = deps.clock.now().getTime();
      unreachableSince ??= now;
      if (now - unreachableSince >= deps.config.runs.lostAfterSeconds * 1000) return { exited: false, unreachableForMs: now - unreachableSince };
    }
    await deps.clock.sleep(pollMs);
  }
}

/** Stores a run whose host stayed unreachable as `lost` and hands it to failure handling. */
export async function loseRun(deps: RunWorkerDeps, run: RunRecord, logger: Logger): Promise<RunRecord> {
  const ended = await recordRunEnd(deps, run, 'lost', { failureClass: 'unreachable', failureMessage: 'host unreachable' }, logger);
  await announceKindEnd(deps, ended, logger, { endEvent: null, exitCode: null, hostReachable: false });
  return ended;
}

/**
 * Settles a run whose job failed on its last BullMQ attempt, so it does not stay active
 * forever: `lost` when its process was launched and the host is unreachable, `failed`
 * otherwise. Earlier attempts leave the run as it is, and the retry re-attaches.
 */
export async function settleAfterJobError(deps: RunWorkerDeps, runId: string, context: KindJobContext, error: unknown): Promise<void> {
  const { job, logger } = context;
  const attemptsLeft = (job.opts.attempts ?? 1) - job.attemptsMade - 1;
  logger.error({ err: error, attemptsLeft }, 'run job failed');
  if (attemptsLeft > 0) return;

  const current = await deps.store.require(runId);
  if (isFinalStatus(current.status)) return;
  if (current.launchedAt && isConnectionError(error)) {
    await loseRun(deps, current, logger);
    return;
  }
  await failRun(deps, current, { failureClass: 'unknown', failureMessage: (error as Error).message }, logger);
}

/** Moves the run to a final status, records the attempt's end and posts the outcome once. */
export async function finishRun(deps: RunWorkerDeps, run: RunRecord, status: RunStatus, patch: Partial<RunRecord>, logger: Logger): Promise<RunRecord> {
  const ended = await recordRunEnd(deps, run, status, patch, logger);
  await postKindOutcome(deps, ended);
  return ended;
}

/**
 * Posts the final message of a deploy, data set check or bench run once, under the same
 * announcement key as a training run's outcome (`outcomeKey`), and brings the thread
 * root up to date.
 */
export async function postKindOutcome(deps: RunWorkerDeps, run: RunRecord): Promise<void> {
  const text = formatKindOutcome(run, deps.config.runs.lostAfterSeconds, deps.thread.translate.bind(deps.thread));
  await deps.thread.postReply(run, outcomeKey(run), text);
  await deps.thread.refreshRoot(run);
}

/**
 * Finishes the announcements of a run that already reached its final status, for a job
 * delivered again after the outcome was stored: failure handling with its report, or
 * the outcome.
 */
export async function repostFinalOutcome(deps: RunWorkerDeps, run: RunRecord): Promise<void> {
  const failed = run.status === 'failed' || run.status === 'lost';
  await announceKindEnd(deps, run, deps.logger, failed ? { endEvent: failureEndEvent(run), exitCode: run.exitCode ?? null, hostReachable: run.status !== 'lost' } : undefined);
}

/**
 * Stores a failed outcome and hands it to failure handling (failure report, restart
 * policy, on-call paging), like a failed training attempt.
 */
export async function failRun(deps: RunWorkerDeps, run: RunRecord, patch: Partial<RunRecord>, logger: Logger): Promise<RunRecord> {
  const ended = await recordRunEnd(deps, run, 'failed', patch, logger);
  await announceKindEnd(deps, ended, logger, { endEvent: failureEndEvent(patch), exitCode: patch.exitCode ?? null, hostReachable: true });
  return ended;
}

/**
 * Posts the one final message of an ended attempt. With `failure` set and failure
 * handling configured, its report is that message: it takes the outcome's key, so the
 * kind's own outcome that follows is posted only when failure handling posted nothing.
 */
async function announceKindEnd(deps: RunWorkerDeps, run: RunRecord, logger: Logger, failure?: Omit<RunFailureInput, 'runId' | 'attempt'>): Promise<void> {
  if (failure && deps.onRunFailure) {
    try {
      await deps.onRunFailure({ ...failure, runId: run.id, attempt: run.attempt });
    } catch (error) {
      // The thread must not stay without a final message; the job's retry runs failure handling again.
      await postKindOutcome(deps, run).catch((postError: unknown) => logger.warn({ err: postError, runId: run.id }, 'posting the short outcome failed after failure handling failed'));
      throw error;
    }
  }
  await postKindOutcome(deps, run);
}

/**
 * Describes the failure to the classifier the way a trainer `end` event would, so it
 * keeps this message and class. `killed` passes none, so the classifier reads the exit
 * code and log instead (a signal, or CUDA out of memory in the log).
 */
function failureEndEvent(patch: Partial<RunRecord>): { status: 'failed'; step: number; error: { type: string; message: string } } | null {
  if (patch.failureClass === 'killed' || patch.failureMessage === undefined) return null;
  const type = patch.failureClass === 'config_error' || patch.failureClass === 'data_error' ? patch.failureClass : 'internal_error';
  return { status: 'failed', step: 0, error: { type, message: patch.failureMessage } };
}

/** Hands the job back to the queue without using up an attempt, as the train path does on shutdown. */
export async function returnJobToQueue(context: KindJobContext): Promise<never> {
  context.logger.info('worker closing; job returned to the queue');
  await context.job.moveToWait(context.token);
  throw new WaitingError();
}

/** Reads the last lines of the run's log for failure messages; empty when unreadable. */
export async function readLogTail(host: Host, runDir: string, lines = 20): Promise<string> {
  try {
    const logPath = await host.resolvePath(`${runDir}/train.log`);
    const result = await host.exec(['tail', '-n', String(lines), '--', logPath], { timeoutMs: 20_000 });
    return result.code === 0 ? result.stdout.trim() : '';
  } catch {
    return '';
  }
}
