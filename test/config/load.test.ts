import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { readEnv, redactUrl, secretValues } from '../../src/config/env.js';
import { buildJsonSchema, renderJsonSchema } from '../../src/config/json-schema.js';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';

function problemsOf(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('accepts the example config', () => {
    const config = loadConfig('config/trainops.example.yaml');
    expect(Object.keys(config.vms)).toEqual(['guanzongphi4', 'yanshiyiliao', 'yanshi', 'xunlian']);
    expect(config.vms.xunlian?.gpus).toBe(2);
    expect(Object.keys(config.recipes)).toEqual([
      'medical-phi4',
      'sft-rl-phi4',
      'phi35moe-medical',
      'phi4-multimodal',
      'medical-phi4-serve',
      'medical-data',
      'comm',
    ]);
  });

  it('accepts the demo config and fills the local python', () => {
    const config = loadConfig('config/demo.yaml', { localPython: '/opt/venv/bin/python' });
    expect(config.slack.mode).toBe('console');
    expect(config.vms.local?.transport).toBe('local');
    expect(config.vms.local?.python).toBe('/opt/venv/bin/python');
  });

  it('keeps a python the file sets', () => {
    const text = readFileSync('config/demo.yaml', 'utf8').replace('workdir: .trainops/demo', 'workdir: .trainops/demo\n    python: /usr/bin/python3');
    const config = parseConfig(text, 'demo', { localPython: '/opt/venv/bin/python' });
    expect(config.vms.local?.python).toBe('/usr/bin/python3');
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig('config/demo.yaml');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.recipes.demo)).toBe(true);
    expect(Object.isFrozen(config.team.members[0])).toBe(true);
  });

  it('reports every problem at once', () => {
    const broken = `
locale: fr
timezone: Mars/Olympus
slack: { mode: socket }
team:
  members:
    - { id: bob, name: Bob }
  oncall: { rotation: [U0NOBODY] }
vms:
  Bad_Name: { transport: local }
  gpu1: { transport: ssh }
recipes:
  t1: { kind: train, model: m, dataset: d, vm: nowhere }
`;
    const problems = problemsOf(() => parseConfig(broken, 'broken.yaml'));
    expect(problems).toContain('slack.channel: missing; expected a value of type string (line 4)');
    expect(problems.some((line) => line.startsWith('locale: '))).toBe(true);
    expect(problems.some((line) => line.startsWith('timezone: unknown IANA time zone'))).toBe(true);
    expect(problems.some((line) => line.startsWith('team.members.0.id: must be a Slack user id'))).toBe(true);
    expect(problems).toContain('vms.Bad_Name: invalid name: use lowercase letters, digits, ".", "_" or "-" (at most 63) (line 10)');
    expect(problems).toContain('vms.gpu1.ssh: required when transport is ssh (line 11)');
    // The cross-references are checked in the same pass as the schema.
    expect(problems).toContain('team.oncall.rotation.0: U0NOBODY is not in team.members (line 8)');
    expect(problems).toContain('recipes.t1.vm: unknown VM "nowhere"; define it under vms or use one of: gpu1 (line 13)');
    expect(problems).toHaveLength(8);
  });

  it('reports cross-reference problems', () => {
    const text = readFileSync('config/demo.yaml', 'utf8').replace('vm: local', 'vm: elsewhere').replace('rotation: [U0DEMO]', 'rotation: [U0NOBODY]');
    expect(problemsOf(() => parseConfig(text, 'demo'))).toEqual([
      'team.oncall.rotation.0: U0NOBODY is not in team.members (line 21)',
      'recipes.demo.vm: unknown VM "elsewhere"; define it under vms or use one of: local (line 37)',
    ]);
  });

  it('reports YAML syntax errors with the line', () => {
    expect(() => parseConfig('a: [1, 2\nb: 3', 'bad.yaml')).toThrow(/bad\.yaml[\s\S]*line/);
  });

  it('reports a tab as one clean line', () => {
    const text = readFileSync('config/demo.yaml', 'utf8').replace('    transport: local\n', '\ttransport: local\n');
    expect(problemsOf(() => parseConfig(text, 'demo'))).toEqual(['YAML line 25, column 1: Tabs are not allowed as indentation; indent with spaces']);
  });

  it('names missing sections', () => {
    expect(problemsOf(() => parseConfig('locale: en\n', 'bare.yaml'))).toEqual([
      'slack: section missing; add a slack: section (config/trainops.example.yaml shows one)',
      'team: section missing; add a team: section (config/trainops.example.yaml shows one)',
      'vms: section missing; add a vms: section (config/trainops.example.yaml shows one)',
    ]);
  });

  it('quotes an invalid enum value', () => {
    const text = readFileSync('config/demo.yaml', 'utf8').replace('format: medical-r1', 'format: medical_r1').replace('locale: zh-CN', 'locale: zh');
    expect(problemsOf(() => parseConfig(text, 'demo'))).toEqual([
      'locale: invalid value "zh", expected one of: zh-CN, en; did you mean zh-CN? (line 7)',
      'recipes.demo.format: invalid value "medical_r1", expected one of: medical-r1, instruction, chat, preference, prompt; did you mean medical-r1? (line 36)',
    ]);
  });

  it('quotes an invalid recipe kind', () => {
    const text = readFileSync('config/demo.yaml', 'utf8').replace('kind: train', 'kind: trian');
    expect(problemsOf(() => parseConfig(text, 'demo'))).toEqual([
      'recipes.demo.kind: invalid value "trian", expected one of: train, deploy, dataset, bench; did you mean train? (line 32)',
    ]);
  });

  it('sorts problems by line', () => {
    const text = readFileSync('config/demo.yaml', 'utf8').replace('vm: local', 'vm: elsewhere').replace('locale: zh-CN', 'locale: fr').replace('gpus: 0', 'gpus: -1');
    const lines = problemsOf(() => parseConfig(text, 'demo')).map((problem) => Number(/\(line (\d+)\)$/.exec(problem)?.[1]));
    expect(lines).toEqual([7, 26, 37]);
  });

  it('names the fix for a missing file', () => {
    expect(() => loadConfig('/nonexistent/trainops.yaml')).toThrow(/file not found; set TRAINOPS_CONFIG/);
  });
});

describe('json schema', () => {
  it('matches the committed file', () => {
    const committed = readFileSync('config/trainops.schema.json', 'utf8');
    expect(committed, 'config/trainops.schema.json is stale: run `npx tsx src/config/json-schema.ts`').toBe(renderJsonSchema());
  });

  it('rejects unknown keys but not record names', () => {
    const schema = buildJsonSchema() as { additionalProperties: unknown; properties: Record<string, { additionalProperties: Record<string, unknown> }> };
    const vm = schema.properties.vms!.additionalProperties;
    const trainRecipe = (schema.properties.recipes!.additionalProperties.oneOf as { additionalProperties: unknown; properties: Record<string, { additionalProperties: unknown }> }[])[0]!;

    expect(schema.additionalProperties).toBe(false);
    expect(vm.additionalProperties).toBe(false);
    expect(trainRecipe.additionalProperties).toBe(false);
    expect(trainRecipe.properties.hyperparameters!.additionalProperties).toMatchObject({ anyOf: expect.any(Array) });
  });
});

describe('readEnv', () => {
  it('reads secrets and defaults', () => {
    const env = readEnv({ SLACK_BOT_TOKEN: 'xoxb-1', REDIS_URL: 'redis://:pa%40ss@127.0.0.1:6379', TRAINOPS_PYTHON: ' ' });
    expect(env.configPath).toBe('config/trainops.yaml');
    expect(env.slackBotToken).toBe('xoxb-1');
    expect(env.localPython).toBeUndefined();
    expect(secretValues(env)).toEqual(['xoxb-1', 'pa@ss']);
    expect(Object.isFrozen(env)).toBe(true);
  });

  it('redacts a Redis password', () => {
    expect(redactUrl('redis://:secret@10.0.0.1:6379/0')).toBe('redis://:***@10.0.0.1:6379/0');
  });
});

describe('local paths', () => {
  it('are taken from baseDir for local VMs', () => {
    const config = loadConfig('config/demo.yaml', { baseDir: '/srv/trainops' });
    expect(config.vms.local?.workdir).toBe('/srv/trainops/.trainops/demo');
    const recipe = config.recipes.demo;
    expect(recipe?.kind).toBe('train');
    expect(recipe && 'dataset' in recipe ? recipe.dataset : undefined).toBe('/srv/trainops/python/trainops_trainer/samples/medical_sample.jsonl');
  });

  it('stay as written for SSH VMs', () => {
    const config = loadConfig('config/trainops.example.yaml', { baseDir: '/srv/trainops' });
    expect(config.vms.yanshi?.workdir).toBe('~/trainops');
    const recipe = config.recipes['medical-phi4'];
    expect(recipe && 'dataset' in recipe ? recipe.dataset : undefined).toBe('~/data/medical-r1/train.jsonl');
  });
});
