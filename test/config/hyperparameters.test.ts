import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { findHyperparameterIssues } from '../../src/config/hyperparameters.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';

/** The demo config; its recipe's hyperparameters start at line 38 and its overrides at line 45. */
const DEMO = readFileSync('config/demo.yaml', 'utf8');

function problemsOf(text: string): readonly string[] {
  try {
    parseConfig(text, 'demo.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

function edit(from: string, to: string): string {
  expect(DEMO.split(from)).toHaveLength(2);
  return DEMO.replace(from, to);
}

/** The demo recipe with chained stages; the first stage's hyperparameters are at line 50. */
const STAGED = edit(
  '    overrides:\n',
  '    stages:\n      - stage: sft\n        hyperparameters: { num_epochs: 1 }\n      - { stage: dpo, from: sft, hyperparameters: { beta: 0.1 } }\n    overrides:\n',
);

describe('recipe hyperparameters', () => {
  it('demo config has none', () => {
    expect(problemsOf(DEMO)).toEqual([]);
    expect(problemsOf(STAGED)).toEqual([]);
  });

  it.each([
    [
      'unknown key',
      ['      learning_rate: 1.0e-3\n', '      learnig_rate: 1e-4\n'],
      'recipes.demo.hyperparameters.learnig_rate: unknown trainer option "learnig_rate"; did you mean learning_rate? (line 40)',
    ],
    [
      'unknown key far from any option',
      ['      learning_rate: 1.0e-3\n', '      colour: blue\n'],
      'recipes.demo.hyperparameters.colour: unknown trainer option "colour"; check its spelling; `python -m trainops_trainer train --help` lists the options (line 40)',
    ],
    [
      'number as text',
      ['      learning_rate: 1.0e-3\n', '      learning_rate: abc\n'],
      'recipes.demo.hyperparameters.learning_rate: invalid value "abc"; expected a number (line 40)',
    ],
    ['fraction for an integer', ['      batch_size: 2\n', '      batch_size: 2.5\n'], 'recipes.demo.hyperparameters.batch_size: invalid value 2.5; expected an integer (line 41)'],
    ['list for a string', ['      batch_size: 2\n', '      batch_size: 2\n      lr_scheduler_type: [cosine]\n'], 'recipes.demo.hyperparameters.lr_scheduler_type: invalid value ["cosine"]; expected a string (line 42)'],
    ['value off the choices', ['      batch_size: 2\n', '      batch_size: 2\n      bits: 6\n'], 'recipes.demo.hyperparameters.bits: invalid value 6; expected one of 16, 8, 4 (line 42)'],
    ['null for a required number', ['      learning_rate: 1.0e-3\n', '      learning_rate: null\n'], 'recipes.demo.hyperparameters.learning_rate: must not be null; expected a number (line 40)'],
    [
      'unknown override field',
      ['field: max_steps, type: integer', 'field: learnng_rate, type: number'],
      'recipes.demo.overrides.steps.field: unknown trainer option "learnng_rate"; did you mean learning_rate? (line 47)',
    ],
    [
      'override type against the option',
      ['field: max_steps, type: integer', 'field: max_steps, type: number'],
      'recipes.demo.overrides.steps.type: type number does not match trainer option max_steps, which takes integer values; use type integer (line 47)',
    ],
    [
      'enum override value off the choices',
      ['steps: { field: max_steps, type: integer, min: 1, max: 500, description: 训练步数 }', 'bits: { field: bits, type: enum, values: ["4", "6"] }'],
      'recipes.demo.overrides.bits.values.1: invalid value "6"; expected one of 16, 8, 4 for trainer option bits (line 47)',
    ],
  ] as const)('%s', (_case, [from, to], expected) => {
    expect(problemsOf(edit(from, to))).toEqual([expected]);
  });

  it('accepts values the trainer converts', () => {
    const text = edit('      batch_size: 2\n', '      batch_size: "2"\n      force: "yes"\n      learning_rate: "1e-3"\n      save_total_limit: null\n');
    expect(problemsOf(text.replace('      learning_rate: 1.0e-3\n', ''))).toEqual([]);
  });

  it('checks stage hyperparameters', () => {
    const text = STAGED.replace('{ num_epochs: 1 }', '{ num_epoch: 1 }').replace('{ beta: 0.1 }', '{ beta: 0.1, resume: none }');
    expect(problemsOf(text)).toEqual([
      'recipes.demo.stages.0.hyperparameters.num_epoch: unknown trainer option "num_epoch"; did you mean num_epochs? (line 47)',
      "recipes.demo.stages.1.hyperparameters.resume: a stage may not set resume, because it belongs to the whole run; set it in the recipe's hyperparameters (line 48)",
    ]);
  });

  it('reported alongside schema errors', () => {
    const text = edit('      learning_rate: 1.0e-3\n', '      learnig_rate: 1e-4\n').replace('gpus: 0', 'gpus: -1');
    expect(problemsOf(text)).toEqual([
      'vms.local.gpus: Too small: expected number to be >=0 (line 26)',
      'recipes.demo.hyperparameters.learnig_rate: unknown trainer option "learnig_rate"; did you mean learning_rate? (line 40)',
    ]);
  });

  it('skips recipes of other kinds', () => {
    const config = { recipes: { serve: { kind: 'deploy', hyperparameters: { colour: 'blue' }, overrides: { x: { field: 'colour' } } } } };
    expect(findHyperparameterIssues(config)).toEqual([]);
    expect(findHyperparameterIssues(null)).toEqual([]);
    expect(findHyperparameterIssues({ recipes: { demo: { kind: 'train', hyperparameters: 'lr=1', stages: 'sft' } } })).toEqual([]);
  });
});
