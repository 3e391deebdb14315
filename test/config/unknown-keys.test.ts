import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { ConfigError, parseConfigText } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { describeUnknownKey, findUnknownKeys, logUnknownKeys } from '../../src/config/unknown-keys.js';
import { createLogger } from '../../src/logging.js';

/** A valid config with one key of each kind the schema checks; typos are spliced in per test. */
const BASE = `locale: zh-CN
slack:
  mode: console
  channel: C0RUNS
team:
  members:
    - { id: U0ALICE01, name: Alice, roles: [admin] }
vms:
  gpu1:
    transport: local
    autoStop: { enabled: true }
recipes:
  sft:
    kind: train
    model: tiny-random-phi3
    dataset: rows.jsonl
    vm: gpu1
    hyperparameters: { max_steps: 20 }
    stages:
      - { stage: sft }
      - { stage: dpo, from: sft, dataset: pairs.jsonl }
  serve:
    kind: deploy
    model: tiny-random-phi3
    vm: gpu1
`;

/** Replaces `from` in BASE, which must occur exactly once. */
function withEdit(from: string, to: string): string {
  expect(BASE.split(from)).toHaveLength(2);
  return BASE.replace(from, to);
}

function unknownKeysOf(text: string): { path: string; line: number | undefined; suggestion: string | undefined }[] {
  return parseConfigText(text, 'test').unknownKeys.map((key) => ({ path: key.path.join('.'), line: key.line, suggestion: key.suggestion }));
}

/** Parses `text`, which must fail with a ConfigError, and returns that error. */
function configErrorOf(text: string): ConfigError {
  try {
    parseConfigText(text, 'test');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected parseConfigText to throw a ConfigError');
}

describe('findUnknownKeys', () => {
  it('finds none in a valid file', () => {
    expect(unknownKeysOf(BASE)).toEqual([]);
  });

  /** Single edits spliced into BASE, each with the unknown keys it yields. */
  const SINGLE_EDITS: { test: string; from: string; to: string; expected: ReturnType<typeof unknownKeysOf> }[] = [
    {
      test: 'finds a top-level typo',
      from: 'locale: zh-CN\n',
      to: 'locale: zh-CN\nredisprefix: ops\n',
      expected: [{ path: 'redisprefix', line: 2, suggestion: 'redisPrefix' }],
    },
    {
      test: 'finds a VM autoStop typo',
      from: '    autoStop: { enabled: true }\n',
      to: '    autostop: { enabled: true }\n',
      expected: [{ path: 'vms.gpu1.autostop', line: 11, suggestion: 'autoStop' }],
    },
    {
      test: 'finds a typo inside autoStop',
      from: 'autoStop: { enabled: true }',
      to: 'autoStop: { enabled: true, idleMinute: 30 }',
      expected: [{ path: 'vms.gpu1.autoStop.idleMinute', line: 11, suggestion: 'idleMinutes' }],
    },
    {
      test: 'finds a recipe typo',
      from: '    vm: gpu1\n    hyperparameters',
      to: '    vm: gpu1\n    deployafter: serve\n    hyperparameters',
      expected: [{ path: 'recipes.sft.deployafter', line: 18, suggestion: 'deployAfter' }],
    },
    {
      test: 'finds a stage typo',
      from: '{ stage: dpo, from: sft, dataset: pairs.jsonl }',
      to: '{ stage: dpo, from: sft, datset: pairs.jsonl }',
      expected: [{ path: 'recipes.sft.stages.1.datset', line: 21, suggestion: 'dataset' }],
    },
    {
      test: 'finds a slack typo',
      from: '  channel: C0RUNS\n',
      to: '  channel: C0RUNS\n  progressEverySecond: 30\n',
      expected: [{ path: 'slack.progressEverySecond', line: 5, suggestion: 'progressEverySeconds' }],
    },
    {
      // A hyperparameters key is checked against the trainer's options, as a problem rather than an ignored key.
      test: 'leaves hyperparameters keys to the trainer options',
      from: 'hyperparameters: { max_steps: 20 }',
      to: 'hyperparameters: { max_steps: 20, lora_rank: 4, learning_rate: 0.1 }',
      expected: [],
    },
    {
      test: 'accepts record names and checks their values',
      from: '    hyperparameters: { max_steps: 20 }\n',
      to: '    hyperparameters: { max_steps: 20 }\n    overrides:\n      lr: { field: learning_rate, type: number, mn: 0 }\n',
      expected: [{ path: 'recipes.sft.overrides.lr.mn', line: 20, suggestion: 'min' }],
    },
  ];

  // A loop rather than it.each, because it.each quotes $test and cuts long names short.
  for (const { test, from, to, expected } of SINGLE_EDITS) {
    it(test, () => {
      expect(unknownKeysOf(withEdit(from, to))).toEqual(expected);
    });
  }

  it('checks a recipe against its kind', () => {
    // maxModelLen is a deploy field, so in a train recipe it is unknown.
    const text = withEdit('    vm: gpu1\n    hyperparameters', '    vm: gpu1\n    maxModelLen: 4096\n    hyperparameters');
    expect(unknownKeysOf(text)).toEqual([{ path: 'recipes.sft.maxModelLen', line: 18, suggestion: undefined }]);

    const deploy = `${BASE}    helthTimeoutSeconds: 60\n`;
    expect(unknownKeysOf(deploy)).toEqual([{ path: 'recipes.serve.helthTimeoutSeconds', line: 26, suggestion: 'healthTimeoutSeconds' }]);
  });

  it('finds a misspelt recipe kind', () => {
    const error = configErrorOf(withEdit('    kind: deploy\n', '    kidn: deploy\n    helthTimeoutSeconds: 60\n'));

    // No recipe kind applies, so only keys that no kind defines are reported.
    expect(error.unknownKeys).toEqual([
      { path: ['recipes', 'serve', 'kidn'], line: 23, suggestion: 'kind' },
      { path: ['recipes', 'serve', 'helthTimeoutSeconds'], line: 24, suggestion: 'healthTimeoutSeconds' },
    ]);
  });

  it('finds typos at several depths in file order', () => {
    const text = withEdit('locale: zh-CN\n', 'locael: en\n').replace('autoStop:', 'autostop:').replace('  mode: console\n', '  mode: console\n  prot: 3000\n');
    expect(unknownKeysOf(text).map((key) => key.path)).toEqual(['locael', 'slack.prot', 'vms.gpu1.autostop']);
  });

  it('offers no suggestion for a distant name', () => {
    expect(unknownKeysOf(`${BASE}zzqqxx: 1\n`)).toEqual([{ path: 'zzqqxx', line: 26, suggestion: undefined }]);
  });

  it('reports unknown keys of an invalid file', () => {
    const error = configErrorOf(withEdit('    autoStop: { enabled: true }\n', '    gpus: -1\n    autostop: { enabled: true }\n'));

    expect(error.problems).toEqual(['vms.gpu1.gpus: Too small: expected number to be >=0 (line 11)']);
    expect(error.unknownKeys).toEqual([{ path: ['vms', 'gpu1', 'autostop'], line: 12, suggestion: 'autoStop' }]);
  });

  it('walks through pipes and preprocess', () => {
    const inner = z.object({ autoStop: z.boolean() });
    const data = { autostop: true };

    expect(findUnknownKeys(inner.pipe(z.transform((value) => value)), data)).toEqual([{ path: ['autostop'], suggestion: 'autoStop' }]);
    expect(findUnknownKeys(z.preprocess((value) => value, inner), data)).toEqual([{ path: ['autostop'], suggestion: 'autoStop' }]);
  });

  it('skips values of the wrong type', () => {
    expect(findUnknownKeys(configSchema, { vms: 'gpu1', recipes: [{ kind: 'train', x: 1 }], team: null })).toEqual([]);
  });
});

describe('describeUnknownKey', () => {
  it('suggests the nearest key', () => {
    expect(describeUnknownKey({ path: ['vms', 'gpu1', 'autostop'], suggestion: 'autoStop' }, 11)).toBe(
      'vms.gpu1.autostop is not a known key, so it is ignored; did you mean autoStop? (line 11)',
    );
  });

  it('asks for a fix without a suggestion', () => {
    expect(describeUnknownKey({ path: ['zzqqxx'] })).toBe('zzqqxx is not a known key, so it is ignored; delete it or check its spelling');
  });
});

describe('logUnknownKeys', () => {
  it('logs one warning per key', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(...chunk.toString('utf8').trimEnd().split('\n'));
        callback();
      },
    });
    const logger = createLogger({ destination });
    const text = withEdit('locale: zh-CN\n', 'locale: zh-CN\nzzqqxx: 1\n').replace('autoStop:', 'autostop:');

    logUnknownKeys(logger, parseConfigText(text, 'test').unknownKeys);

    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ level: 40, key: 'zzqqxx', line: 2, msg: 'config: zzqqxx is not a known key, so it is ignored; delete it or check its spelling (line 2)' });
    expect(entries[0]).not.toHaveProperty('suggestion');
    expect(entries[1]).toMatchObject({
      level: 40,
      key: 'vms.gpu1.autostop',
      line: 12,
      suggestion: 'autoStop',
      msg: 'config: vms.gpu1.autostop is not a known key, so it is ignored; did you mean autoStop? (line 12)',
    });
  });
});
