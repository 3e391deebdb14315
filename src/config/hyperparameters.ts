import type { ReferenceIssue } from './references.js';
import { suggestName } from './suggest.js';
import { checkOptionValue, findTrainerOption, trainerOptions, type TrainerOption } from './trainer-options.js';

/**
 * Checks train recipes against the trainer's options. Each `hyperparameters` key, of the
 * recipe and of its stages, must be a trainer option with a value of its type. Each
 * override must write to a trainer option of a matching type. The trainer rejects
 * anything else at launch, which on Azure is after the VM has been started. Like the
 * reference checks, these read the config as plain data and also run on a file whose
 * other parts fail the schema.
 */
export function findHyperparameterIssues(config: unknown): ReferenceIssue[] {
  if (!isObject(config) || !isObject(config.recipes)) return [];
  const issues: ReferenceIssue[] = [];

  for (const [name, recipe] of Object.entries(config.recipes)) {
    if (!isObject(recipe) || recipe.kind !== 'train') continue;
    const path = ['recipes', name];
    issues.push(...valueIssues([...path, 'hyperparameters'], recipe.hyperparameters, false));
    if (Array.isArray(recipe.stages)) {
      recipe.stages.forEach((stage: unknown, index) => {
        if (isObject(stage)) issues.push(...valueIssues([...path, 'stages', index, 'hyperparameters'], stage.hyperparameters, true));
      });
    }
    if (isObject(recipe.overrides)) {
      for (const [overrideName, override] of Object.entries(recipe.overrides)) {
        if (isObject(override)) issues.push(...overrideIssues([...path, 'overrides', overrideName], override));
      }
    }
  }
  return issues;
}

/**
 * run.json keys that `buildRunJson` (src/jobs/run-json.ts) writes after the hyperparameters
 * and overrides, so a value for them in the recipe never reaches the trainer. Each maps to
 * where the value comes from instead.
 */
export const KEYS_SET_BY_BOT: Readonly<Record<string, string>> = {
  run_id: 'the bot names each run',
  stage: "the recipe's stages set it",
  stages: "the recipe's stages set it",
  model: "the recipe's model sets it",
  dataset: "the recipe's dataset sets it",
  format: "the recipe's format sets it",
  output_dir: 'the bot puts it in the run folder',
  events_path: 'the bot puts it in the run folder',
  resume: 'the bot chooses it (the newest checkpoint, or the point a restart names)',
};

function valueIssues(path: (string | number)[], hyperparameters: unknown, inStage: boolean): ReferenceIssue[] {
  if (!isObject(hyperparameters)) return [];
  const issues: ReferenceIssue[] = [];

  for (const [key, value] of Object.entries(hyperparameters)) {
    const option = findTrainerOption(key);
    if (!option) {
      issues.push({ path: [...path, key], message: unknownOption(key) });
    } else if (!inStage && key in KEYS_SET_BY_BOT) {
      issues.push({ path: [...path, key], message: `${key} is ignored because ${KEYS_SET_BY_BOT[key]}; delete it here` });
    } else if (inStage && key === 'stage') {
      issues.push({ path: [...path, key], message: "stage is ignored because the stage's own stage sets it; delete it here" });
    } else if (inStage && trainerOptions().run_keys.includes(option.name)) {
      issues.push({ path: [...path, key], message: `a stage may not set ${key}, because it belongs to the whole run; set it in the recipe's hyperparameters` });
    } else {
      const problem = checkOptionValue(option, value);
      if (problem) issues.push({ path: [...path, key], message: problem });
    }
  }
  return issues;
}

/** Override types (`type:` of an override) and the trainer option types each can be written to. */
const FITTING_TYPES: Readonly<Record<string, readonly TrainerOption['type'][]>> = {
  number: ['number'],
  integer: ['integer', 'number'],
  boolean: ['boolean'],
  string: ['string'],
  enum: ['string', 'integer', 'number'],
};

function overrideIssues(path: (string | number)[], override: Record<string, unknown>): ReferenceIssue[] {
  if (typeof override.field !== 'string') return [];
  const option = findTrainerOption(override.field);
  if (!option) return [{ path: [...path, 'field'], message: unknownOption(override.field) }];
  const setter = KEYS_SET_BY_BOT[override.field];
  if (setter) return [{ path: [...path, 'field'], message: `an override of ${override.field} is ignored because ${setter}; choose another field` }];

  const type = override.type;
  if (typeof type !== 'string' || !(type in FITTING_TYPES)) return [];
  if (!FITTING_TYPES[type]?.includes(option.type)) {
    const fitting = Object.keys(FITTING_TYPES).filter((name) => name !== 'enum' && FITTING_TYPES[name]?.includes(option.type));
    if (option.choices) fitting.push('enum');
    const advice = fitting.length > 0 ? `use type ${fitting.join(' or ')}` : 'no override type can set it';
    return [{ path: [...path, 'type'], message: `type ${type} does not match trainer option ${option.name}, which takes ${option.type} values; ${advice}` }];
  }

  if (option.choices && type !== 'enum') {
    const message = `trainer option ${option.name} takes one of ${option.choices.join(', ')}, so a ${type} override would pass values the trainer rejects; use type enum with values from them`;
    return [{ path: [...path, 'type'], message }];
  }
  if (type !== 'enum' || !Array.isArray(override.values)) return [];
  const issues: ReferenceIssue[] = [];
  override.values.forEach((value: unknown, index) => {
    const problem = checkOptionValue(option, value);
    if (problem) issues.push({ path: [...path, 'values', index], message: `${problem} for trainer option ${option.name}` });
  });
  return issues;
}

function unknownOption(key: string): string {
  const names = trainerOptions().options.map((option) => option.name);
  const suggestion = suggestName(key, names);
  const hint = suggestion === undefined ? 'check its spelling; `python -m trainops_trainer train --help` lists the options' : `did you mean ${suggestion}?`;
  return `unknown trainer option "${key}"; ${hint}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
