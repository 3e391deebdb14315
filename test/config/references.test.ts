import { describe, expect, it } from 'vitest';

import { ConfigError, parseConfig } from '../../src/config/load.js';
import { findReferenceIssues } from '../../src/config/references.js';

/** A valid config; the tests below break it line by line. Line numbers are those of this text. */
const VALID = `slack: { channel: C0RUNS }
team:
  members:
    - { id: U0ALICE01, name: Alice, roles: [admin] }
    - { id: U0BOB0001, name: Bob }
  oncall: { rotation: [U0ALICE01, U0BOB0001] }
vms:
  gpu1: { transport: local, owner: U0ALICE01 }
  gpu2: { transport: local }
recipes:
  medical:
    kind: train
    model: tiny-random-phi3
    dataset: rows.jsonl
    vm: gpu1
    deployAfter: medical-serve
    stages:
      - { stage: sft }
      - { stage: grpo, from: sft, dataset: prompts.jsonl }
  medical-serve: { kind: deploy, model: tiny-random-phi3, vm: gpu2 }
plan:
  items:
    - { number: '1', title: 训练并部署, due: 周一, owner: U0BOB0001, vm: gpu1, recipe: medical }
`;

function problemsOf(text: string): readonly string[] {
  try {
    parseConfig(text, 'test.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

function edit(replacements: Array<[string, string]>): string {
  let text = VALID;
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`test text lacks ${from}`);
    text = text.replace(from, to);
  }
  return text;
}

describe('config cross-references', () => {
  it('valid text has none', () => {
    expect(problemsOf(VALID)).toEqual([]);
  });

  it.each([
    ['rotation member', ['rotation: [U0ALICE01, U0BOB0001]', 'rotation: [U0ALICE01, U0CAROL01]'], 'team.oncall.rotation.1: U0CAROL01 is not in team.members (line 6)'],
    ['VM owner', ['owner: U0ALICE01 }', 'owner: U0CAROL01 }'], 'vms.gpu1.owner: U0CAROL01 is not in team.members (line 8)'],
    ['VM owner typo', ['owner: U0ALICE01 }', 'owner: U0ALICE02 }'], 'vms.gpu1.owner: U0ALICE02 is not in team.members; did you mean U0ALICE01 (Alice)? (line 8)'],
    ['recipe VM', ['    vm: gpu1\n', '    vm: gpu9\n'], 'recipes.medical.vm: unknown VM "gpu9"; define it under vms or use one of: gpu1, gpu2 (line 15)'],
    [
      'deployAfter target',
      ['deployAfter: medical-serve', 'deployAfter: medical-srv'],
      'recipes.medical.deployAfter: unknown recipe "medical-srv"; did you mean medical-serve? Otherwise define a deploy recipe under recipes or use one of: medical-serve (line 16)',
    ],
    [
      'deployAfter far from any deploy recipe',
      ['deployAfter: medical-serve', 'deployAfter: vllm'],
      'recipes.medical.deployAfter: unknown recipe "vllm"; define a deploy recipe under recipes or use one of: medical-serve (line 16)',
    ],
    [
      'deployAfter kind',
      ['deployAfter: medical-serve', 'deployAfter: medical'],
      'recipes.medical.deployAfter: recipe "medical" is a train recipe; deployAfter needs a recipe of kind deploy (line 16)',
    ],
    ['stage from', ['from: sft', 'from: dpo'], 'recipes.medical.stages.1.from: "dpo" is not an earlier stage; use one of: 0, sft (line 19)'],
    [
      'first stage from',
      ['{ stage: sft }', '{ stage: sft, from: grpo }'],
      'recipes.medical.stages.0.from: "grpo" is not an earlier stage; the first stage starts from the base model, so remove from (line 18)',
    ],
    ['plan item owner', ['owner: U0BOB0001, vm', 'owner: U0CAROL01, vm'], 'plan.items.0.owner: U0CAROL01 is not in team.members (line 23)'],
    ['plan item VM', ['vm: gpu1, recipe', 'vm: gpu3, recipe'], 'plan.items.0.vm: unknown VM "gpu3"; define it under vms or use one of: gpu1, gpu2 (line 23)'],
    [
      'plan item recipe',
      ['recipe: medical }', 'recipe: medicine }'],
      'plan.items.0.recipe: unknown recipe "medicine"; define it under recipes or use one of: medical, medical-serve (line 23)',
    ],
  ] as const)('%s', (_case, replacement, expected) => {
    expect(problemsOf(edit([[replacement[0], replacement[1]]]))).toEqual([expected]);
  });

  it('stage from accepts an index', () => {
    expect(problemsOf(edit([['from: sft', "from: '0'"]]))).toEqual([]);
  });

  it('reported alongside schema errors', () => {
    const text = edit([
      ['slack: { channel: C0RUNS }', 'slack: { channel: C0RUNS, mode: carrier-pigeon }'],
      ['{ id: U0BOB0001, name: Bob }', '{ id: U0BOB0001, name: Bob, roles: [boss] }'],
      ['gpu2: { transport: local }', 'gpu2: { transport: local, gpus: many }'],
      ['    vm: gpu1\n', '    vm: gpu9\n'],
      ['from: sft', 'from: dpo'],
      ['recipe: medical }', 'recipe: medicine }'],
    ]);
    const problems = problemsOf(text);

    expect(problems).toContain('slack.mode: invalid value "carrier-pigeon", expected one of: socket, http, console (line 1)');
    expect(problems).toContain('team.members.1.roles.0: invalid value "boss", expected one of: admin, oncall, member (line 5)');
    expect(problems).toContain('vms.gpu2.gpus: Invalid input: expected number, received string (line 9)');
    expect(problems).toContain('recipes.medical.vm: unknown VM "gpu9"; define it under vms or use one of: gpu1, gpu2 (line 15)');
    expect(problems).toContain('recipes.medical.stages.1.from: "dpo" is not an earlier stage; use one of: 0, sft (line 19)');
    expect(problems).toContain('plan.items.0.recipe: unknown recipe "medicine"; define it under recipes or use one of: medical, medical-serve (line 23)');
    expect(problems).toHaveLength(6);
  });

  it('invalid member entry still defined', () => {
    // Bob's entry fails the schema, but he is still a member, so the rotation and plan do not fail too.
    const text = edit([['{ id: U0BOB0001, name: Bob }', '{ id: U0BOB0001, name: "" }']]);
    expect(problemsOf(text)).toEqual(['team.members.1.name: Too small: expected string to have >=1 characters (line 5)']);
  });

  it('invalid reference reported once', () => {
    const problems = problemsOf(edit([['    vm: gpu1\n', '    vm: GPU One\n']]));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^recipes\.medical\.vm: use lowercase letters/);
  });

  it('invalid VM name reported once', () => {
    // Names and references follow the same rule, so the reference fails the schema too and is not also "unknown".
    const problems = problemsOf(edit([['  gpu1: { transport', '  GPU_1: { transport'], ['    vm: gpu1\n', '    vm: GPU_1\n']]));
    expect(problems).toContain('vms.GPU_1: invalid name: use lowercase letters, digits, ".", "_" or "-" (at most 63) (line 8)');
    expect(problems.some((line) => line.includes('unknown VM "GPU_1"'))).toBe(false);
  });

  it('skips a section that cannot be read', () => {
    const text = edit([['vms:\n  gpu1: { transport: local, owner: U0ALICE01 }\n  gpu2: { transport: local }\n', 'vms: [gpu1, gpu2]\n']]);
    expect(problemsOf(text)).toEqual(['vms: Invalid input: expected record, received array (line 7)']);
  });

  it('ignores non-object input', () => {
    expect(findReferenceIssues(null)).toEqual([]);
    expect(findReferenceIssues(['a'])).toEqual([]);
    expect(findReferenceIssues({ team: 'x', vms: 3, recipes: [], plan: { items: 'none' } })).toEqual([]);
  });
});
