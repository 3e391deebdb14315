import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { checkOptionValue, findTrainerOption, TRAINER_OPTIONS_FILE, type TrainerOption } from '../../src/config/trainer-options.js';

function option(name: string): TrainerOption {
  const found = findTrainerOption(name);
  if (!found) throw new Error(`no trainer option ${name}`);
  return found;
}

describe('trainer options file', () => {
  it('matches the trainer', () => {
    // The trainer's own dataclass is the source, so the committed copy is regenerated with the trainer's venv.
    const python = execFileSync('bash', ['scripts/python-env.sh'], { encoding: 'utf8' }).trim();
    const generated = execFileSync(python, ['-m', 'trainops_trainer', 'options'], { cwd: path.resolve('python'), encoding: 'utf8' });
    const committed = readFileSync(TRAINER_OPTIONS_FILE, 'utf8');
    expect(committed, `${TRAINER_OPTIONS_FILE} is stale: run \`cd python && python -m trainops_trainer options > ../${TRAINER_OPTIONS_FILE}\``).toBe(generated);
  }, 120_000);

  it('resolves the from alias', () => {
    expect(findTrainerOption('from')?.name).toBe('from_stage');
    expect(findTrainerOption('learnig_rate')).toBeUndefined();
  });
});

describe('checkOptionValue', () => {
  it.each([
    ['learning_rate', 1e-4, undefined],
    ['learning_rate', '1e-4', undefined],
    ['learning_rate', 'abc', 'invalid value "abc"; expected a number'],
    ['learning_rate', true, 'invalid value true; expected a number'],
    ['learning_rate', null, 'must not be null; expected a number'],
    ['max_steps', 20, undefined],
    ['max_steps', '-1', undefined],
    ['max_steps', 20.5, 'invalid value 20.5; expected an integer'],
    ['max_steps', '20.0', 'invalid value "20.0"; expected an integer'],
    ['save_total_limit', null, undefined],
    ['force', 'yes', undefined],
    ['force', 'maybe', 'invalid value "maybe"; expected true or false'],
    ['bits', '4', undefined],
    ['bits', 6, 'invalid value 6; expected one of 16, 8, 4'],
    ['format', 'chat', undefined],
    ['format', 'medical_r1', 'invalid value "medical_r1"; expected one of medical-r1, instruction, chat, preference, prompt'],
    ['lora_targets', 'q_proj,v_proj', undefined],
    ['lora_targets', { q: 1 }, 'invalid value {"q":1}; expected a string'],
    ['stages', '[{"stage": "sft"}]', undefined],
    ['stages', 'sft', 'invalid value "sft"; expected a list'],
  ] as const)('%s = %j', (name, value, expected) => {
    expect(checkOptionValue(option(name), value)).toBe(expected);
  });
});
