import { describe, expect, it } from 'vitest';

import {
  classifyFailure,
  finalStatusFor,
  signalFromExitCode,
  type FailureObservation,
} from '../../src/jobs/failure-classifier.js';

const base: FailureObservation = { endEvent: null, exitCode: null, logTail: '', hostReachable: true };

function failedEnd(type: string, message: string): FailureObservation['endEvent'] {
  return { status: 'failed', step: 10, error: { type, message } };
}

describe('classifyFailure', () => {
  const cases: Array<[string, Partial<FailureObservation>, string, string?]> = [
    ['end out_of_memory', { endEvent: failedEnd('out_of_memory', 'CUDA out of memory'), exitCode: 1 }, 'out_of_memory'],
    ['end diverged', { endEvent: failedEnd('diverged', 'loss is nan at step 7'), exitCode: 1 }, 'diverged'],
    ['end data_error', { endEvent: failedEnd('data_error', 'missing column "question"'), exitCode: 1 }, 'data_error'],
    ['end config_error', { endEvent: failedEnd('config_error', 'unknown key "lrr"'), exitCode: 2 }, 'config_error'],
    ['end dependency_error', { endEvent: failedEnd('dependency_error', 'peft missing'), exitCode: 1 }, 'config_error'],
    ['end interrupted', { endEvent: failedEnd('interrupted', 'SIGTERM'), exitCode: 143 }, 'killed', 'SIGTERM'],
    ['internal error with OOM log', { endEvent: failedEnd('internal_error', 'boom'), logTail: 'torch.OutOfMemoryError: CUDA' }, 'out_of_memory'],
    ['internal error plain', { endEvent: failedEnd('internal_error', 'boom'), exitCode: 1 }, 'unknown'],
    ['no end, OOM text in log', { exitCode: 1, logTail: 'RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB' }, 'out_of_memory'],
    ['no end, torch OOM class in log', { exitCode: 1, logTail: 'torch.OutOfMemoryError: oops' }, 'out_of_memory'],
    ['no end, exit 137', { exitCode: 137 }, 'killed', 'SIGKILL'],
    ['no end, exit 143', { exitCode: 143 }, 'killed', 'SIGTERM'],
    ['no end, negative code', { exitCode: -9 }, 'killed', 'SIGKILL'],
    ['no end, exit 1', { exitCode: 1 }, 'no_end_event'],
    ['no end, exit 0', { exitCode: 0 }, 'no_end_event'],
    ['no end, no exit code', { exitCode: null }, 'no_end_event'],
    ['unreachable, VM running', { hostReachable: false, powerState: 'running' }, 'unreachable'],
    ['unreachable, no Azure', { hostReachable: false }, 'unreachable'],
    ['unreachable, deallocated', { hostReachable: false, powerState: 'deallocated' }, 'evicted'],
    ['unreachable, stopped', { hostReachable: false, powerState: 'stopped' }, 'evicted'],
    ['reachable, deallocating, no exit', { powerState: 'deallocating' }, 'evicted'],
    ['cancel wins over signal', { exitCode: 143, cancelledBy: 'U1', endEvent: failedEnd('interrupted', 'SIGTERM') }, 'cancelled'],
    ['cancel wins over unreachable', { hostReachable: false, cancelledBy: 'U1' }, 'cancelled'],
  ];

  for (const [name, observation, expected, signal] of cases) {
    it(name, () => {
      const result = classifyFailure({ ...base, ...observation });
      expect(result.failureClass).toBe(expected);
      if (signal) expect(result.signal).toBe(signal);
    });
  }

  it('keeps the trainer message as detail', () => {
    const result = classifyFailure({ ...base, endEvent: failedEnd('data_error', 'missing column "question"') });
    expect(result.detail).toContain('question');
  });
});

describe('signalFromExitCode', () => {
  it('maps shell codes', () => {
    expect(signalFromExitCode(137)).toBe('SIGKILL');
    expect(signalFromExitCode(139)).toBe('SIGSEGV');
  });

  it('ignores ordinary codes', () => {
    expect(signalFromExitCode(1)).toBeUndefined();
    expect(signalFromExitCode(null)).toBeUndefined();
  });
});

describe('finalStatusFor', () => {
  it('maps classes to run status', () => {
    expect(finalStatusFor('unreachable')).toBe('lost');
    expect(finalStatusFor('cancelled')).toBe('cancelled');
    expect(finalStatusFor('killed')).toBe('failed');
    expect(finalStatusFor('evicted')).toBe('failed');
  });
});
