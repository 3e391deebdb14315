import type { FailureClass, RestartPolicy } from '../config/schema.js';
import type { RunRecord } from './run-types.js';

/**
 * The automatic restart decision for a failed attempt, from the recipe's `restart`
 * policy. Pure: the caller counts nothing itself, it passes the run record.
 */

/** `AttemptRecord.startedBy` of attempts that the restart policy started. */
export const AUTO_RESTART_ACTOR = 'trainops:auto';

export type AutoRestartDecision =
  | { restart: true; waitSeconds: number; startVmFirst: boolean; autoRestartNumber: number; maxAutoRestarts: number }
  | { restart: false; reason: 'class_not_retried' | 'budget_exhausted'; autoRestarts: number; maxAutoRestarts: number };

/** Classes a person must look at: a restart would fail the same way or hide a decision. */
const NEVER_RETRIED: ReadonlySet<FailureClass> = new Set(['cancelled']);

/** Counts the attempts started by the policy, so a person's restart does not use up the budget. */
export function countAutoRestarts(run: Pick<RunRecord, 'attempts'>): number {
  return run.attempts.filter((attempt) => attempt.startedBy === AUTO_RESTART_ACTOR).length;
}

export function decideAutoRestart(
  policy: RestartPolicy,
  failureClass: FailureClass,
  run: Pick<RunRecord, 'attempts'>,
): AutoRestartDecision {
  const autoRestarts = countAutoRestarts(run);
  const { maxAutoRestarts } = policy;

  // maxAutoRestarts 0 turns the policy off. No restart was used up, so the reason is class_not_retried.
  if (NEVER_RETRIED.has(failureClass) || !policy.retryOn.includes(failureClass) || maxAutoRestarts === 0) {
    return { restart: false, reason: 'class_not_retried', autoRestarts, maxAutoRestarts };
  }
  if (autoRestarts >= maxAutoRestarts) {
    return { restart: false, reason: 'budget_exhausted', autoRestarts, maxAutoRestarts };
  }
  return {
    restart: true,
    waitSeconds: policy.waitSeconds,
    // An evicted VM is deallocated: the launcher cannot reach it until it is started.
    startVmFirst: failureClass === 'evicted',
    autoRestartNumber: autoRestarts + 1,
    maxAutoRestarts,
  };
}
