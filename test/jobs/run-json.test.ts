import { describe, expect, it } from 'vitest';

import { trainRecipeSchema } from '../../src/config/schema.js';
import { buildRunJson, UnknownOverrideError } from '../../src/jobs/run-json.js';

const recipe = trainRecipeSchema.parse({
  kind: 'train',
  model: 'microsoft/phi-4',
  dataset: '/data/yanshi/medical.jsonl',
  format: 'medical-r1',
  hyperparameters: { learning_rate: 0.0002, num_epochs: 3, lora_rank: 16, output_dir: '/tmp/elsewhere', run_id: 'x' },
  overrides: {
    lr: { field: 'learning_rate', type: 'number', min: 0, max: 1 },
    epochs: { field: 'num_epochs', type: 'number' },
  },
});

describe('buildRunJson', () => {
  it('starts from the hyperparameters', () => {
    const runJson = buildRunJson({ runId: '42', recipe, overrides: {}, runDir: '/home/ml/trainops/runs/42' }, 'medical-phi4');

    expect(runJson.learning_rate).toBe(0.0002);
    expect(runJson.lora_rank).toBe(16);
    expect(runJson.num_epochs).toBe(3);
  });

  it('writes overrides to their field', () => {
    const runJson = buildRunJson({ runId: '42', recipe, overrides: { lr: 0.0001, epochs: 2 }, runDir: '/r/42' }, 'medical-phi4');

    expect(runJson.learning_rate).toBe(0.0001);
    expect(runJson.num_epochs).toBe(2);
    expect(runJson).not.toHaveProperty('lr');
    expect(runJson).not.toHaveProperty('epochs');
  });

  it('lets the bot-owned keys win', () => {
    const runJson = buildRunJson({ runId: '42', recipe, overrides: {}, runDir: '/home/ml/trainops/runs/42' }, 'medical-phi4');

    expect(runJson).toMatchObject({
      run_id: '42',
      stage: 'sft',
      model: 'microsoft/phi-4',
      dataset: '/data/yanshi/medical.jsonl',
      format: 'medical-r1',
      output_dir: '/home/ml/trainops/runs/42/output',
      events_path: '/home/ml/trainops/runs/42/events.jsonl',
      resume: 'auto',
    });
  });

  it.each([
    [undefined, 'auto'],
    ['latest', 'auto'],
    ['scratch', 'none'],
    ['/r/42/output/checkpoint-500', '/r/42/output/checkpoint-500'],
  ])('maps resumeFrom %s to resume %s', (resumeFrom, resume) => {
    const runJson = buildRunJson({ runId: '42', recipe, overrides: {}, runDir: '/r/42', resumeFrom }, 'medical-phi4');

    expect(runJson.resume).toBe(resume);
  });

  it('rejects an override the recipe does not allow', () => {
    expect(() => buildRunJson({ runId: '42', recipe, overrides: { batch: 4 }, runDir: '/r/42' }, 'medical-phi4')).toThrow(UnknownOverrideError);
  });

  it('writes chained stages without bot-owned keys', () => {
    const chained = trainRecipeSchema.parse({
      kind: 'train',
      model: 'tiny-random-phi3',
      dataset: '/data/sft.jsonl',
      stages: [
        { stage: 'sft', hyperparameters: { max_steps: 10 } },
        { stage: 'grpo', from: 'sft', dataset: '/data/prompts.jsonl', hyperparameters: { max_steps: 5 } },
      ],
    });

    const runJson = buildRunJson({ runId: '7', recipe: chained, overrides: {}, runDir: '/r/7' }, 'chain');

    expect(runJson.stages).toEqual([
      { stage: 'sft', max_steps: 10 },
      { stage: 'grpo', from: 'sft', dataset: '/data/prompts.jsonl', max_steps: 5 },
    ]);
    expect(runJson).not.toHaveProperty('format');
  });
});
