import { describe, expect, it } from 'vitest';

import { findHyperparameterIssues, KEYS_SET_BY_BOT } from '../../src/config/hyperparameters.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { TrainRecipe } from '../../src/config/schema.js';
import { buildRunJson } from '../../src/jobs/run-json.js';

/** A valid config with one train recipe. Line numbers in the tests are those of this text. */
const DEMO = `slack: { channel: C0RUNS }
team:
  members: [{ id: U0ALICE01, name: Alice }]
vms:
  local: { transport: local, gpus: 0 }
recipes:
  demo:
    kind: train
    model: tiny-random-phi3
    dataset: rows.jsonl
    vm: local
    hyperparameters:
      max_steps: 20
      learning_rate: 1.0e-3
      batch_size: 2
    overrides:
      lr: { field: learning_rate, type: number, min: 1.0e-7, max: 1.0e-1 }
      steps: { field: max_steps, type: integer, min: 1, max: 500 }
`;

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

/** The recipe with chained stages; the first stage's hyperparameters are at line 18. */
const STAGED = edit(
  '    overrides:\n',
  '    stages:\n      - stage: sft\n        hyperparameters: { num_epochs: 1 }\n      - { stage: dpo, from: sft, hyperparameters: { beta: 0.1 } }\n    overrides:\n',
);

describe('recipe hyperparameters', () => {
  it('valid recipe has none', () => {
    expect(problemsOf(DEMO)).toEqual([]);
    expect(problemsOf(STAGED)).toEqual([]);
  });

  it.each([
    [
      'unknown key',
      ['      learning_rate: 1.0e-3\n', '      learnig_rate: 1e-4\n'],
      'recipes.demo.hyperparameters.learnig_rate: unknown trainer option "learnig_rate"; did you mean learning_rate? (line 14)',
    ],
    [
      'unknown key far from any option',
      ['      learning_rate: 1.0e-3\n', '      colour: blue\n'],
      'recipes.demo.hyperparameters.colour: unknown trainer option "colour"; check its spelling; `python -m trainops_trainer train --help` lists the options (line 14)',
    ],
    [
      'number as text',
      ['      learning_rate: 1.0e-3\n', '      learning_rate: abc\n'],
      'recipes.demo.hyperparameters.learning_rate: invalid value "abc"; expected a number (line 14)',
    ],
    ['fraction for an integer', ['      batch_size: 2\n', '      batch_size: 2.5\n'], 'recipes.demo.hyperparameters.batch_size: invalid value 2.5; expected an integer (line 15)'],
    ['list for a string', ['      batch_size: 2\n', '      batch_size: 2\n      lr_scheduler_type: [cosine]\n'], 'recipes.demo.hyperparameters.lr_scheduler_type: invalid value ["cosine"]; expected a string (line 16)'],
    ['value off the choices', ['      batch_size: 2\n', '      batch_size: 2\n      bits: 6\n'], 'recipes.demo.hyperparameters.bits: invalid value 6; expected one of 16, 8, 4 (line 16)'],
    ['null for a required number', ['      learning_rate: 1.0e-3\n', '      learning_rate: null\n'], 'recipes.demo.hyperparameters.learning_rate: must not be null; expected a number (line 14)'],
    [
      'unknown override field',
      ['field: max_steps, type: integer', 'field: learnng_rate, type: number'],
      'recipes.demo.overrides.steps.field: unknown trainer option "learnng_rate"; did you mean learning_rate? (line 18)',
    ],
    [
      'override type against the option',
      ['field: max_steps, type: integer', 'field: max_steps, type: number'],
      'recipes.demo.overrides.steps.type: type number does not match trainer option max_steps, which takes integer values; use type integer (line 18)',
    ],
    [
      'enum override value off the choices',
      ['steps: { field: max_steps, type: integer, min: 1, max: 500 }', 'bits: { field: bits, type: enum, values: ["4", "6"] }'],
      'recipes.demo.overrides.bits.values.1: invalid value "6"; expected one of 16, 8, 4 for trainer option bits (line 18)',
    ],
    [
      'free override of an option with choices',
      ['steps: { field: max_steps, type: integer, min: 1, max: 500 }', 'layout: { field: prompt_style, type: string }'],
      'recipes.demo.overrides.layout.type: trainer option prompt_style takes one of chat_template, instruction, so a string override would pass values the trainer rejects; use type enum with values from them (line 18)',
    ],
    [
      'key the bot sets',
      ['      batch_size: 2\n', '      batch_size: 2\n      model: microsoft/phi-4\n'],
      "recipes.demo.hyperparameters.model: model is ignored because the recipe's model sets it; delete it here (line 16)",
    ],
    [
      'override of a key the bot sets',
      ['field: max_steps, type: integer', 'field: dataset, type: string'],
      "recipes.demo.overrides.steps.field: an override of dataset is ignored because the recipe's dataset sets it; choose another field (line 18)",
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
      'recipes.demo.stages.0.hyperparameters.num_epoch: unknown trainer option "num_epoch"; did you mean num_epochs? (line 18)',
      "recipes.demo.stages.1.hyperparameters.resume: a stage may not set resume, because it belongs to the whole run; set it in the recipe's hyperparameters (line 19)",
    ]);
  });

  it('rejects stage in a stage', () => {
    const text = STAGED.replace('{ num_epochs: 1 }', '{ num_epochs: 1, stage: dpo }');
    expect(problemsOf(text)).toEqual([
      "recipes.demo.stages.0.hyperparameters.stage: stage is ignored because the stage's own stage sets it; delete it here (line 18)",
    ]);
  });

  it('lists every key the run builder sets', () => {
    // Each key listed as set by the bot must be overwritten in run.json, or the check would reject a working recipe.
    const recipe = parseConfig(STAGED, 'demo.yaml').recipes.demo as TrainRecipe;
    const sentinels = Object.fromEntries(Object.keys(KEYS_SET_BY_BOT).map((key) => [key, `sentinel-${key}`]));
    const runJson = buildRunJson({ runId: 'r1', recipe: { ...recipe, format: undefined, hyperparameters: sentinels }, overrides: {}, runDir: '/runs/r1' }, 'demo');

    for (const key of Object.keys(KEYS_SET_BY_BOT)) expect(runJson[key], key).not.toBe(`sentinel-${key}`);
  });

  it('reported alongside schema errors', () => {
    const text = edit('      learning_rate: 1.0e-3\n', '      learnig_rate: 1e-4\n').replace('gpus: 0 }', 'gpus: -1 }');
    expect(problemsOf(text)).toEqual([
      'vms.local.gpus: Too small: expected number to be >=0 (line 5)',
      'recipes.demo.hyperparameters.learnig_rate: unknown trainer option "learnig_rate"; did you mean learning_rate? (line 14)',
    ]);
  });

  it('skips recipes of other kinds', () => {
    const config = { recipes: { serve: { kind: 'deploy', hyperparameters: { colour: 'blue' }, overrides: { x: { field: 'colour' } } } } };
    expect(findHyperparameterIssues(config)).toEqual([]);
    expect(findHyperparameterIssues(null)).toEqual([]);
    expect(findHyperparameterIssues({ recipes: { demo: { kind: 'train', hyperparameters: 'lr=1', stages: 'sft' } } })).toEqual([]);
  });
});
