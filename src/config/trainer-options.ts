import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The trainer's options, read from `config/trainer-options.json`, which
 * `python -m trainops_trainer options` generates from its dataclass so the bot checks
 * recipe hyperparameters without Python. A test regenerates it and fails when it is stale.
 */
export interface TrainerOption {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'array';
  /** True when the option accepts null (an `Optional` field). */
  readonly nullable: boolean;
  readonly default: unknown;
  readonly help: string;
  readonly choices?: readonly (string | number)[];
}

export interface TrainerOptions {
  /** Keys run.json spells differently from the option name: `from` for `from_stage`. */
  readonly aliases: Readonly<Record<string, string>>;
  /** Keys that belong to the whole run, which a chained stage may not set. */
  readonly run_keys: readonly string[];
  readonly options: readonly TrainerOption[];
}

export const TRAINER_OPTIONS_FILE = 'config/trainer-options.json';

let cached: TrainerOptions | undefined;

/** Reads the generated option list once; it is found by walking up from this module, so it works from src/ and dist/. */
export function trainerOptions(): TrainerOptions {
  cached ??= JSON.parse(readFileSync(findOptionsFile(), 'utf8')) as TrainerOptions;
  return cached;
}

/** Returns the option that a run.json key sets, after the trainer's aliases. */
export function findTrainerOption(key: string): TrainerOption | undefined {
  const { aliases, options } = trainerOptions();
  const name = aliases[key] ?? key;
  return options.find((option) => option.name === name);
}

/**
 * Checks a value the way the trainer converts it (`coerce_value` in
 * python/trainops_trainer/config.py), so strings such as `"20"` pass where the trainer
 * accepts them. Null passes only for nullable options, because the trainer would
 * otherwise fail later on a missing number. Returns the problem, or undefined.
 */
export function checkOptionValue(option: TrainerOption, value: unknown): string | undefined {
  if (value === null || value === undefined) {
    return option.nullable ? undefined : `must not be null; expected ${describeType(option)}`;
  }
  const converted = convert(option, value);
  if (converted === undefined) return `invalid value ${JSON.stringify(value)}; expected ${describeType(option)}`;
  if (option.choices && !option.choices.includes(converted as string | number)) {
    return `invalid value ${JSON.stringify(value)}; expected one of ${option.choices.join(', ')}`;
  }
  return undefined;
}

function describeType(option: TrainerOption): string {
  const names = { string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false', array: 'a list' };
  return names[option.type];
}

/** Returns the value the trainer would pass on, or undefined where the trainer rejects it. */
function convert(option: TrainerOption, value: unknown): unknown {
  switch (option.type) {
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      const text = String(value).trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(text)) return true;
      if (['false', '0', 'no', 'off'].includes(text)) return false;
      return undefined;
    }
    case 'integer': {
      if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
      // Python's int() takes an optionally signed run of digits with surrounding spaces and underscores between digits.
      if (typeof value === 'string' && /^\s*[-+]?\d+(_\d+)*\s*$/.test(value)) return Number(value.replace(/_/g, ''));
      return undefined;
    }
    case 'number': {
      if (typeof value === 'number') return value;
      if (typeof value !== 'string') return undefined;
      const text = value.trim().replace(/(\d)_(?=\d)/g, '$1');
      if (/^[-+]?(inf|infinity|nan)$/i.test(text)) return Number(text.replace(/^([-+]?)inf(inity)?$/i, '$1Infinity'));
      return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text) ? Number(text) : undefined;
    }
    case 'array':
      if (Array.isArray(value)) return value;
      if (typeof value !== 'string') return undefined;
      try {
        const parsed: unknown = JSON.parse(value);
        return Array.isArray(parsed) ? parsed : undefined;
      } catch {
        return undefined;
      }
    case 'string':
      return typeof value === 'object' ? undefined : String(value);
  }
}

function findOptionsFile(): string {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, TRAINER_OPTIONS_FILE);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`no ${TRAINER_OPTIONS_FILE} above ${start}`);
  }
}
