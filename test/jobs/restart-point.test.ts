import { describe, expect, it } from 'vitest';

import { decideAutoRestart, AUTO_RESTART_ACTOR } from '../../src/jobs/restart-policy.js';
import {
  parseCheckpointListing,
  parseRestartFrom,
  resolveRestartPoint,
  resumeValueFor,
} from '../../src/jobs/restart-point.js';
import { restartPolicySchema } from '../../src/config/schema.js';

const checkpoints = parseCheckpointListing('/runs/42/output/', ['checkpoint-1200', 'completed', 'checkpoint-400', 'checkpoint-800', 'adapter']);

describe('parseCheckpointListing', () => {
  it('keeps checkpoint folders sorted', () => {
    expect(checkpoints.map((checkpoint) => checkpoint.step)).toEqual([400, 800, 1200]);
    expect(checkpoints[2]?.path).toBe('/runs/42/output/checkpoint-1200');
  });
});

describe('parseRestartFrom', () => {
  const cases: Array<[string | undefined, unknown]> = [
    [undefined, { kind: 'latest' }],
    ['latest', { kind: 'latest' }],
    ['scratch', { kind: 'scratch' }],
    ['1200', { kind: 'step', step: 1200 }],
    ['checkpoint-800', { kind: 'step', step: 800 }],
    ['abc', { error: 'invalid_from', text: 'abc' }],
    ['-5', { error: 'invalid_from', text: '-5' }],
  ];
  for (const [text, expected] of cases) {
    it(`parses ${String(text)}`, () => {
      expect(parseRestartFrom(text)).toEqual(expected);
    });
  }
});

describe('resolveRestartPoint', () => {
  it('picks the latest checkpoint', () => {
    expect(resolveRestartPoint({ kind: 'latest' }, checkpoints)).toEqual({ kind: 'checkpoint', step: 1200, path: '/runs/42/output/checkpoint-1200' });
  });

  it('falls back to scratch without checkpoints', () => {
    expect(resolveRestartPoint({ kind: 'latest' }, [])).toEqual({ kind: 'scratch' });
  });

  it('picks an exact step', () => {
    expect(resolveRestartPoint({ kind: 'step', step: 800 }, checkpoints)).toMatchObject({ kind: 'checkpoint', step: 800 });
  });

  it('rejects a missing step with the nearest', () => {
    expect(resolveRestartPoint({ kind: 'step', step: 1000 }, checkpoints)).toEqual({
      error: 'step_not_found',
      step: 1000,
      available: [400, 800, 1200],
      nearest: 800,
    });
  });

  it('writes resume values', () => {
    expect(resumeValueFor({ kind: 'scratch' })).toBe('none');
    expect(resumeValueFor({ kind: 'checkpoint', step: 5, path: '/x/checkpoint-5' })).toBe('/x/checkpoint-5');
  });
});

describe('decideAutoRestart', () => {
  const policy = restartPolicySchema.parse({});
  const fresh = { attempts: [{ attempt: 1, startedAt: 't', startedBy: 'UALICE' }] };

  it('uses the default retry classes', () => {
    expect(decideAutoRestart(policy, 'killed', fresh).restart).toBe(true);
    expect(decideAutoRestart(policy, 'unreachable', fresh).restart).toBe(true);
    expect(decideAutoRestart(policy, 'out_of_memory', fresh).restart).toBe(false);
    expect(decideAutoRestart(policy, 'diverged', fresh).restart).toBe(false);
    expect(decideAutoRestart(policy, 'data_error', fresh).restart).toBe(false);
  });

  it('starts an evicted VM first', () => {
    expect(decideAutoRestart(policy, 'evicted', fresh)).toMatchObject({ restart: true, startVmFirst: true, waitSeconds: 60 });
  });

  it('treats a zero budget as off', () => {
    const off = restartPolicySchema.parse({ maxAutoRestarts: 0 });
    expect(decideAutoRestart(off, 'killed', fresh)).toMatchObject({ restart: false, reason: 'class_not_retried' });
  });

  it('never retries a cancel', () => {
    const everything = restartPolicySchema.parse({ retryOn: ['cancelled', 'killed'] });
    expect(decideAutoRestart(everything, 'cancelled', fresh).restart).toBe(false);
  });

  it('stops when the budget is used', () => {
    const run = {
      attempts: [
        { attempt: 1, startedAt: 't', startedBy: 'UALICE' },
        { attempt: 2, startedAt: 't', startedBy: AUTO_RESTART_ACTOR },
        { attempt: 3, startedAt: 't', startedBy: 'UBOB' },
        { attempt: 4, startedAt: 't', startedBy: AUTO_RESTART_ACTOR },
      ],
    };
    expect(decideAutoRestart(policy, 'killed', run)).toMatchObject({ restart: false, reason: 'budget_exhausted', autoRestarts: 2 });
  });
});
