/**
 * The run state machine. Each status lists the statuses it may move to, and the store
 * rejects any other move with `IllegalTransitionError`. So a late or repeated worker
 * step cannot drag a succeeded, failed or cancelled run back to `running`.
 *
 *   queued -> starting_vm -> syncing -> running -> succeeded | failed | cancelled
 *   any active status -> lost (host unreachable past runs.lostAfterSeconds)
 *   failed | cancelled | lost -> restarting -> starting_vm | syncing | running
 *
 * Staying in the same status is always allowed: a re-delivered job repeats its step.
 */
import { ACTIVE_STATUSES, FINAL_STATUSES, type RunStatus } from './run-types.js';

const TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ['starting_vm', 'syncing', 'running', 'failed', 'cancelled'],
  starting_vm: ['syncing', 'running', 'failed', 'cancelled', 'lost'],
  syncing: ['running', 'failed', 'cancelled', 'lost'],
  running: ['serving', 'succeeded', 'failed', 'cancelled', 'lost'],
  serving: ['succeeded', 'failed', 'cancelled', 'lost'],
  // A lost run whose host comes back while the job still follows it resumes running.
  lost: ['running', 'succeeded', 'failed', 'cancelled', 'restarting'],
  restarting: ['starting_vm', 'syncing', 'running', 'failed', 'cancelled', 'lost'],
  // A succeeded run's output is complete, so it is never restarted. Training again is a new run.
  succeeded: [],
  failed: ['restarting'],
  cancelled: ['restarting'],
};

export class IllegalTransitionError extends Error {
  constructor(
    readonly runId: string,
    readonly from: RunStatus,
    readonly to: RunStatus,
  ) {
    super(`run #${runId} cannot move from ${from} to ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

export function isFinalStatus(status: RunStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

export function isActiveStatus(status: RunStatus): boolean {
  return ACTIVE_STATUSES.includes(status);
}
