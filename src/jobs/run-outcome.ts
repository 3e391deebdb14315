/**
 * The end of a train run's attempt: classifies how it ended, stores the final status
 * with the attempt's record, then posts one final message, the failure report for a
 * failed or lost attempt. The run is always stored before anything is announced.
 */
import type { Logger } from 'pino';

import type { VmConfig } from '../config/schema.js';
import { queueDeployAfterTraining } from './deploy-after.js';
import { readLogTail } from './deploy-steps.js';
import { classifyFailure, finalStatusFor } from './failure-classifier.js';
import { runDirOf } from './run-dir.js';
import { failureInputFromRecord, type RunFailureInput } from './run-failure.js';
import { readChartPoints, type FollowOutcome } from './run-follow.js';
import { isFinalStatus } from './run-state.js';
import type { RunRecord, RunStatus } from './run-types.js';
import type { RunWorkerDeps } from './run-worker.js';

/** Stores and announces how the attempt ended. */
export async function settleAttempt(deps: RunWorkerDeps, result: FollowOutcome, vm: VmConfig, logger: Logger): Promise<void> {
  const run = result.run;
  if (result.end?.status === 'succeeded') {
    const ended = await finishRun(deps, run, 'succeeded', { outputPath: result.end.outputPath ?? run.outputPath, exitCode: result.exitCode ?? undefined }, logger, { vm });
    await queueDeployAfterTraining(deps, ended, logger);
    return;
  }
  if (result.reason === 'unreachable') {
    const patch = result.vmPowerState
      ? { failureClass: 'evicted' as const, failureMessage: `host unreachable and the VM is ${result.vmPowerState} in Azure` }
      : { failureClass: 'unreachable' as const, failureMessage: 'host unreachable' };
    await finishRun(deps, run, 'lost', patch, logger, { vm, failure: { endEvent: null, exitCode: null, hostReachable: false } });
    return;
  }

  const endEvent = result.end ? { status: result.end.status, step: result.end.step, error: result.end.error } : null;
  const logTail = await readTrainLogTail(deps, run, vm);
  const classification = classifyFailure({
    endEvent,
    exitCode: result.exitCode,
    logTail,
    hostReachable: true,
    cancelledBy: run.cancelRequestedBy,
  });
  await finishRun(
    deps,
    run,
    finalStatusFor(classification.failureClass),
    { failureClass: classification.failureClass, failureMessage: classification.detail, exitCode: result.exitCode ?? undefined },
    logger,
    { vm, failure: { endEvent, exitCode: result.exitCode, hostReachable: true, logTail } },
  );
}

export interface RunEndOptions {
  /** The run's VM, to read the loss chart's points; without it the outcome has no chart. */
  vm?: Pick<VmConfig, 'workdir'>;
  /**
   * Observations of a failed or lost attempt by the worker, for failure handling. Without
   * them failure handling works from the stored run (`failureInputFromRecord`).
   */
  failure?: Omit<RunFailureInput, 'runId' | 'attempt'>;
}

/** Moves the run to a final status, records the attempt's end, and announces it (`announceRunEnd`). */
export async function finishRun(
  deps: RunWorkerDeps,
  run: RunRecord,
  status: RunStatus,
  patch: Partial<RunRecord>,
  logger: Logger,
  options: RunEndOptions = {},
): Promise<RunRecord> {
  const ended = await recordRunEnd(deps, run, status, patch, logger);
  await announceRunEnd(deps, ended, logger, options);
  return ended;
}

/**
 * Posts the one final message of an ended attempt, then the loss chart. A failed or lost
 * attempt goes to failure handling first, whose report is that message: it is posted
 * under the outcome's key (`outcomeKey`), so the short outcome that follows is skipped.
 * The short outcome is posted when failure handling posts nothing: a superseded
 * attempt, failure handling not configured, or an error before the report was posted.
 * Safe to call again for a re-delivered job: every post is keyed.
 */
export async function announceRunEnd(
  deps: Pick<RunWorkerDeps, 'hosts' | 'thread' | 'onRunFailure'>,
  ended: RunRecord,
  logger: Logger,
  options: RunEndOptions = {},
): Promise<void> {
  const points = options.vm ? await readChartPoints(deps.hosts, ended.vm, runDirOf(options.vm, ended.id), logger) : [];
  if (deps.onRunFailure && (ended.status === 'failed' || ended.status === 'lost')) {
    const losses = points.map((point) => point.loss).filter((loss): loss is number => loss !== undefined);
    const facts = options.failure ?? failureInputFromRecord(ended);
    try {
      await deps.onRunFailure({ ...facts, runId: ended.id, attempt: ended.attempt, losses });
    } catch (error) {
      // The thread must not stay without a final message; the job's retry runs failure handling again.
      await deps.thread.postOutcome(ended, points).catch((postError: unknown) => logger.warn({ err: postError }, 'posting the short outcome failed after failure handling failed'));
      throw error;
    }
  }
  await deps.thread.postOutcome(ended, points);
}

/**
 * Stores the run's final status and its current attempt's end, unless a final status is
 * already stored (a re-delivered job), in which case the stored run is returned as it is.
 */
export async function recordRunEnd(
  deps: Pick<RunWorkerDeps, 'store' | 'clock'>,
  run: RunRecord,
  status: RunStatus,
  patch: Partial<RunRecord>,
  logger: Logger,
): Promise<RunRecord> {
  const endedAt = deps.clock.now().toISOString();
  const ended = await deps.store.update(run.id, (stored) => {
    if (isFinalStatus(stored.status)) return undefined;
    return {
      ...patch,
      status,
      endedAt,
      attempts: stored.attempts.map((entry) =>
        entry.attempt === stored.attempt ? { ...entry, endedAt, status, failureClass: patch.failureClass, reason: patch.failureMessage } : entry,
      ),
    };
  });
  logger.info({ status: ended.status, failureClass: ended.failureClass }, 'run ended');
  return ended;
}

/** Reads the end of train.log, where OOM and non-finite loss messages show; returns "" when unreadable. */
async function readTrainLogTail(deps: RunWorkerDeps, run: RunRecord, vm: VmConfig): Promise<string> {
  try {
    return await readLogTail(await deps.hosts.get(run.vm), runDirOf(vm, run.id), 50);
  } catch {
    return '';
  }
}
