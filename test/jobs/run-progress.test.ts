import { describe, expect, it } from 'vitest';

import { applyRunEvents, planOutbox, type TrainerEvent } from '../../src/jobs/run-progress.js';
import type { OutboxItem, RunRecord } from '../../src/jobs/run-types.js';

const run: RunRecord = {
  id: '42',
  kind: 'train',
  recipe: 'medical-phi4',
  vm: 'yanshiyiliao',
  userId: 'U0ALICE01',
  channel: 'C0TRAIN01',
  overrides: {},
  status: 'running',
  attempt: 1,
  attempts: [],
  createdAt: '2026-12-07T09:00:00+08:00',
  updatedAt: '2026-12-07T09:00:00+08:00',
  eventOffset: 0,
};

function step(stepNumber: number, seconds: number, loss: number): TrainerEvent {
  return {
    type: 'step',
    time: `2026-12-07T09:${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}+08:00`,
    step: stepNumber,
    max_steps: 100,
    epoch: stepNumber / 100,
    loss,
    learning_rate: 0.0002,
  };
}

describe('applyRunEvents', () => {
  it('takes step, loss, learning rate and epoch from steps', () => {
    const applied = applyRunEvents(run, [step(10, 0, 2.5), step(20, 30, 2.1)], { everySeconds: 60 });

    expect(applied.patch).toMatchObject({ step: 20, maxSteps: 100, loss: 2.1, learningRate: 0.0002, epoch: 0.2 });
  });

  it('throttles progress replies by trainer time', () => {
    const applied = applyRunEvents(run, [step(10, 0, 2.5), step(20, 30, 2.1), step(30, 60, 1.9), step(40, 90, 1.8)], { everySeconds: 60 });

    expect(applied.replies.map((reply) => reply.type === 'progress' && reply.step)).toEqual([10, 30]);
  });

  it('also posts every N steps', () => {
    const applied = applyRunEvents(run, [step(10, 0, 2.5), step(20, 1, 2.1), step(30, 2, 1.9)], { everySeconds: 600, everySteps: 20 });

    expect(applied.replies.map((reply) => reply.type === 'progress' && reply.step)).toEqual([10, 30]);
  });

  it('reports the loss change since the last reply', () => {
    const applied = applyRunEvents({ ...run, lastProgress: { step: 5, loss: 3, at: '2026-12-07T08:00:00+08:00' } }, [step(10, 0, 2.5)], { everySeconds: 60 });

    const [reply] = applied.replies;
    expect(reply?.type === 'progress' && reply.lossChange).toBeCloseTo(-0.5);
  });

  it('keys replies by run, attempt and step', () => {
    const applied = applyRunEvents({ ...run, attempt: 2 }, [step(10, 0, 2.5), { type: 'checkpoint', step: 10, path: '/o/checkpoint-10' }], { everySeconds: 60 });

    expect(applied.replies.map((reply) => reply.key)).toEqual(['run:42:progress:a2:s10', 'run:42:checkpoint:a2:s10']);
    expect(applied.patch.lastCheckpoint).toEqual({ step: 10, path: '/o/checkpoint-10' });
  });

  it('decides the same replies when a batch is applied again', () => {
    const events = [step(10, 0, 2.5), step(20, 70, 2.1)];

    const first = applyRunEvents(run, events, { everySeconds: 60 });
    const again = applyRunEvents(run, events, { everySeconds: 60 });

    expect(again.replies).toEqual(first.replies);
  });

  it('warns once per attempt about dropped rows', () => {
    const start: TrainerEvent = {
      type: 'start',
      time: '2026-12-07T09:00:00+08:00',
      max_steps: 20,
      train_rows: 4,
      data_report: { rows: 40, valid_rows: 40, kept_rows: 4, dropped: { over_max_length: 36 }, tokens: { max_length: 128 } },
    };

    const first = applyRunEvents(run, [start, step(1, 0, 2.5)], { everySeconds: 60 });
    const retry = applyRunEvents({ ...run, attempt: 2 }, [start], { everySeconds: 60 });

    expect(first.replies.filter((reply) => reply.type === 'data_warning')).toEqual([
      { key: 'run:42:data:a1', type: 'data_warning', rows: 40, invalid: 0, dropped: { over_max_length: 36 }, trainRows: 4, maxLength: 128 },
    ]);
    expect(retry.replies.map((reply) => reply.key)).toEqual(['run:42:data:a2']);
  });

  it('does not warn when every row is used', () => {
    const start: TrainerEvent = { type: 'start', max_steps: 20, train_rows: 40, data_report: { rows: 40, valid_rows: 40, kept_rows: 40, dropped: {} } };

    expect(applyRunEvents(run, [start], { everySeconds: 60 }).replies).toEqual([]);
  });

  it('reads the end event', () => {
    const applied = applyRunEvents(run, [{ type: 'end', status: 'failed', step: 12, output_path: null, error: { type: 'out_of_memory', message: 'CUDA out of memory' } }], {
      everySeconds: 60,
    });

    expect(applied.end).toEqual({ status: 'failed', step: 12, outputPath: undefined, error: { type: 'out_of_memory', message: 'CUDA out of memory' } });
  });

  it('lists unknown event types', () => {
    const applied = applyRunEvents(run, [{ type: 'unknown:v2:step' }], { everySeconds: 60 });

    expect(applied.unknownTypes).toEqual(['unknown:v2:step']);
    expect(applied.patch).toEqual({});
  });

  it('measures the step rate from the first step', () => {
    const applied = applyRunEvents(run, [step(10, 0, 2.5), step(20, 30, 2.1)], { everySeconds: 60 });

    expect(applied.patch.stepRateOrigin).toEqual({ step: 10, time: '2026-12-07T09:00:00+08:00' });
    expect(applied.patch.lastStepTime).toBe('2026-12-07T09:00:30+08:00');
  });

  it('reports again after a resumed start', () => {
    const resumed = { ...run, attempt: 2, lastProgress: { step: 50, loss: 1.5, at: '2026-12-07T09:00:00+08:00' } };

    const applied = applyRunEvents(resumed, [{ type: 'start', max_steps: 100 }, step(40, 0, 1.6)], { everySeconds: 60 });

    expect(applied.replies.map((reply) => reply.key)).toEqual(['run:42:progress:a2:s40']);
  });
});

function progress(step: number, loss: number, lossChange?: number, series = 'run:42:progress:a1'): OutboxItem {
  return { key: `${series}:s${step}`, type: 'progress', step, maxSteps: 100, loss, lossChange };
}

describe('planOutbox', () => {
  it('posts only the newest progress reply', () => {
    const plan = planOutbox([progress(10, 3, -0.5), progress(20, 2.8, -0.2), progress(30, 2.5, -0.3)]);

    expect(plan.post.map((item) => item.key)).toEqual(['run:42:progress:a1:s30']);
    expect(plan.superseded).toEqual(['run:42:progress:a1:s10', 'run:42:progress:a1:s20']);
  });

  it('measures the merged loss change from the last posted reply', () => {
    const [merged] = planOutbox([progress(10, 3, -0.5), progress(20, 2.8, -0.2), progress(30, 2.5, -0.3)]).post;

    expect(merged?.type === 'progress' && merged.lossChange).toBeCloseTo(-1);
  });

  it('keeps a merged first reply without a loss change', () => {
    const [merged] = planOutbox([progress(1, 3), progress(2, 2.9, -0.1)]).post;

    expect(merged?.type === 'progress' && merged.lossChange).toBeUndefined();
  });

  it('never drops checkpoint or evaluation replies', () => {
    const checkpoint: OutboxItem = { key: 'run:42:checkpoint:a1:s10', type: 'checkpoint', step: 10, path: '/runs/42/checkpoint-10' };
    const evaluation: OutboxItem = { key: 'run:42:eval:a1:s10', type: 'eval', step: 10, metrics: { eval_loss: 2.9 } };

    const plan = planOutbox([progress(10, 3, -0.5), checkpoint, evaluation, progress(20, 2.8, -0.2)]);

    expect(plan.post.map((item) => item.key)).toEqual([checkpoint.key, evaluation.key, 'run:42:progress:a1:s20']);
  });

  it('keeps the newest reply of each attempt', () => {
    const plan = planOutbox([progress(10, 3, -0.5), progress(5, 3.1, undefined, 'run:42:progress:a2')]);

    expect(plan.post).toHaveLength(2);
    expect(plan.superseded).toEqual([]);
  });
});
