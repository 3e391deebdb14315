/**
 * The end of a train run's attempt: classifies how it ended, stores the final status
 * with the attempt's record, then posts the outcome and hands failures to failure
 * handling. The run is always stored before anything is announced.
 */
import type { Logger } from 'pino';

import type { VmConfig } from '../config/schema.js';
import { queueDeployAfterTraining } from './deploy-after.js';
import { readLogTail } from './deploy-steps.js';
import { classifyFailure, finalStatusFor } from './failure-classifier.js';
import { runDirOf } from './run-dir.js';
import { readChartPoints, type FollowOutcome } from './run-follow.js';
import { isFinalStatus } from './run-state.js';
import type { RunRecord, RunStatus } from './run-types.js';
import type { RunWorkerDeps } from './run-worker.js';

/** Stores and announces how the attempt ended. */
export async function settleAttempt(deps: RunWorkerDeps, result: FollowOutcome, vm: VmConfig, logger: Logger): Promise<void> {
  const run = result.run;
  if (result.end?.status === 'succeeded') {
    const ended = await finishRun(deps, run, 'succeeded', { outputPath: result.end.outputPath ?? run.outputPath, exitCode: result.exitCode ?? undefined }, logger, vm);
    await queueDeployAfterTraining(deps, ended, logger);
    return;
  }
  if (result.reason === 'unreachable') {
    const patch = result.vmPowerState
      ? { failureClass: 'evicted' as const, failureMessage: `host unreachable and the VM is ${result.vmPowerState} in Azure` }
      : { failureClass: 'unreachable' as const, failureMessage: 'host unreachable' };
    await finishRun(deps, run, 'lost', patch, logger, vm);
    await deps.onRunFailure?.({ runId: run.id, attempt: run.attempt, endEvent: null, exitCode: null, hostReachable: false });
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
    vm,
  );
  await deps.onRunFailure?.({ runId: run.id, attempt: run.attempt, endEvent, exitCode: result.exitCode, hostReachable: true, logTail });
}

/** Moves the run to a final status, records the attempt's end, and posts the outcome. */
export async function finishRun(
  deps: RunWorkerDeps,
  run: RunRecord,
  status: RunStatus,
  patch: Partial<RunRecord>,
  logger: Logger,
  vm?: VmConfig,
): Promise<RunRecord> {
  const ended = await recordRunEnd(deps, run, status, patch, logger);
  const points = vm ? await readChartPoints(deps.hosts, ended.vm, runDirOf(vm, ended.id), logger) : [];
  // NOTE: a failed or lost run gets this short final message and then, from
  // onRunFailure, the detailed failure report, so the thread shows two messages. Only
  // this one is posted on every path (failure handling skips stale attempts and runs
  // without it configured), so merging them needs each caller to say who reports.
  await deps.thread.postOutcome(ended, points);
  return ended;
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
