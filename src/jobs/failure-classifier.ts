import { constants as osConstants } from 'node:os';

import type { FailureClass } from '../config/schema.js';
import type { PowerState } from '../remote/vm-control.js';

/**
 * Turns what the bot can observe about an ended (or vanished) run into one failure
 * class. Pure: the caller reads the run directory, pings the host and asks VmControl
 * for the power state, then passes the results here.
 */

/** The `end` event as written by the trainer (docs/protocol.md), or the part of it the classifier needs. */
export interface EndEventSummary {
  status: 'succeeded' | 'failed';
  step?: number;
  error?: { type: string; message: string } | null;
}

export interface FailureObservation {
  /** The run's `end` event, or null when events.jsonl contains none. */
  endEvent: EndEventSummary | null;
  /** Content of the `exit_code` file; null when the file is absent (process still running, or the host died). */
  exitCode: number | null;
  /** Last lines of train.log; empty when unreadable. */
  logTail: string;
  /** False when the host could not be reached when the run was last checked. */
  hostReachable: boolean;
  /** Azure power state of the VM; undefined for VMs without Azure identity or when the query failed. */
  powerState?: PowerState;
  /** Slack user id of the person who cancelled the run, when it was cancelled. */
  cancelledBy?: string;
}

export interface FailureClassification {
  failureClass: FailureClass;
  /** Signal name when the process was ended by a signal (`SIGKILL`). */
  signal?: string;
  /** The trainer's own error message, or a short English reason for logs. */
  detail: string;
}

const OOM_PATTERNS = [/CUDA out of memory/i, /torch\.OutOfMemoryError/, /torch\.cuda\.OutOfMemoryError/, /\bOutOfMemoryError\b/];
const NAN_PATTERNS = [/loss (is|became) (nan|inf)/i, /non-finite loss/i];

/** Power states in which the VM is not running: its processes are gone. */
const DOWN_POWER_STATES: ReadonlySet<PowerState> = new Set(['deallocated', 'deallocating', 'stopped', 'stopping']);

/** Maps trainer `end` error types (docs/protocol.md) to failure classes; absent types fall through to the exit code and log. */
const END_ERROR_CLASSES: Readonly<Record<string, FailureClass>> = {
  out_of_memory: 'out_of_memory',
  diverged: 'diverged',
  data_error: 'data_error',
  config_error: 'config_error',
  dependency_error: 'config_error',
  already_completed: 'config_error',
  interrupted: 'killed',
};

/**
 * Classifies an unsuccessful end. The order matters: a person's cancel explains any
 * signal that followed it, and a stopped VM explains a lost host. The trainer's own
 * `end` error is trusted before exit codes and log text.
 */
export function classifyFailure(observation: FailureObservation): FailureClassification {
  const { endEvent, exitCode, logTail, hostReachable, powerState, cancelledBy } = observation;

  if (cancelledBy) {
    return { failureClass: 'cancelled', detail: `cancelled by ${cancelledBy}` };
  }

  if (powerState && DOWN_POWER_STATES.has(powerState) && (!hostReachable || exitCode === null)) {
    return { failureClass: 'evicted', detail: `VM power state is ${powerState}` };
  }
  if (!hostReachable) {
    return { failureClass: 'unreachable', detail: 'host unreachable' };
  }

  const endError = endEvent?.status === 'failed' ? endEvent.error : undefined;
  if (endError) {
    const fromEnd = END_ERROR_CLASSES[endError.type];
    if (fromEnd === 'killed') {
      return { failureClass: 'killed', signal: 'SIGTERM', detail: endError.message };
    }
    if (fromEnd) {
      return { failureClass: fromEnd, detail: endError.message };
    }
    // internal_error and unknown types: the log may still show the real cause.
    const fromLog = classifyLogTail(logTail);
    return { failureClass: fromLog ?? 'unknown', detail: endError.message };
  }

  const fromLog = classifyLogTail(logTail);
  if (fromLog) {
    return { failureClass: fromLog, detail: fromLog === 'out_of_memory' ? 'out of GPU memory (from train.log)' : 'non-finite loss (from train.log)' };
  }

  const signal = signalFromExitCode(exitCode);
  if (signal) {
    return { failureClass: 'killed', signal, detail: `exit code ${exitCode} (${signal})` };
  }

  if (exitCode === null) {
    return { failureClass: 'no_end_event', detail: 'process gone without exit_code or end event' };
  }
  return { failureClass: 'no_end_event', detail: `exit code ${exitCode} without an end event` };
}

function classifyLogTail(logTail: string): FailureClass | undefined {
  if (OOM_PATTERNS.some((pattern) => pattern.test(logTail))) return 'out_of_memory';
  if (NAN_PATTERNS.some((pattern) => pattern.test(logTail))) return 'diverged';
  return undefined;
}

/**
 * Returns the signal name for a shell-style exit code (128 + signal number, so 137 is
 * SIGKILL and 143 is SIGTERM) or a negative code as Node and Python report it.
 */
export function signalFromExitCode(exitCode: number | null): string | undefined {
  if (exitCode === null) return undefined;
  let number: number | undefined;
  if (exitCode > 128 && exitCode < 128 + 65) number = exitCode - 128;
  else if (exitCode < 0) number = -exitCode;
  if (number === undefined) return undefined;

  const entry = Object.entries(osConstants.signals).find(([, value]) => value === number);
  return entry ? entry[0] : `signal ${number}`;
}

/** Maps a class to the run's final status: `lost` for an unreachable host, whose trainer may still be running. */
export function finalStatusFor(failureClass: FailureClass): 'failed' | 'cancelled' | 'lost' {
  if (failureClass === 'cancelled') return 'cancelled';
  if (failureClass === 'unreachable') return 'lost';
  return 'failed';
}
