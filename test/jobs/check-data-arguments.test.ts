import { describe, expect, it } from 'vitest';

import { datasetRecipeSchema } from '../../src/config/schema.js';
import { buildCheckDataCommand, checkDataArguments } from '../../src/jobs/dataset-worker.js';

const prompts = datasetRecipeSchema.parse({
  kind: 'dataset',
  path: '~/data/medical-r1/prompts.jsonl',
  format: 'prompt',
  model: 'microsoft/phi-4',
  maxLength: 2048,
  rewards: 'format:0.5,answer:1',
});

describe('checkDataArguments', () => {
  it('passes the format, tokenizer, limit and rewards of the recipe', () => {
    expect(checkDataArguments(prompts, '/home/me/data/medical-r1/prompts.jsonl')).toEqual([
      '-m',
      'trainops_trainer',
      'check-data',
      '/home/me/data/medical-r1/prompts.jsonl',
      '--json',
      '--model',
      'microsoft/phi-4',
      '--model-max-length',
      '2048',
      '--format',
      'prompt',
      '--rewards',
      'format:0.5,answer:1',
    ]);
  });

  it('leaves detection to the trainer without a recipe', () => {
    expect(checkDataArguments(undefined, 'upload.csv')).toEqual([
      '-m',
      'trainops_trainer',
      'check-data',
      'upload.csv',
      '--json',
      '--model',
      'tiny-random-phi3',
      '--model-max-length',
      '512',
    ]);
  });

  it('runs the same arguments on a VM behind the report redirection', () => {
    const command = buildCheckDataCommand(prompts, '/venv/bin/python', '/data/p.jsonl');
    expect(command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(command.slice(3)).toEqual(['check-data', '/venv/bin/python', ...checkDataArguments(prompts, '/data/p.jsonl')]);
  });
});

describe('datasetRecipeSchema', () => {
  it('rejects a format the trainer does not know', () => {
    const result = datasetRecipeSchema.safeParse({ kind: 'dataset', path: 'x.jsonl', format: 'medical_r1' });
    expect(result.success).toBe(false);
  });

  it('rejects rewards that are not name:weight pairs', () => {
    const result = datasetRecipeSchema.safeParse({ kind: 'dataset', path: 'x.jsonl', rewards: 'answer; rm -rf ~' });
    expect(result.success).toBe(false);
  });
});
