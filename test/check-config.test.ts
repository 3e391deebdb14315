import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { checkConfigFile } from '../src/check-config.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const workDir = mkdtempSync(path.join(os.tmpdir(), 'trainops-check-config-'));

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/** Fails the schema (slack.channel, gpus) and the cross-references (VM, recipes, rotation) at once. */
const BOTH_KINDS = `slack: { mode: socket }
team:
  members:
    - { id: U0ALICE01, name: Alice, roles: [admin] }
  oncall: { rotation: [U0NOBODY01] }
vms:
  local: { transport: local, gpus: -1 }
recipes:
  demo:
    { kind: train, model: tiny-random-phi3, dataset: rows.jsonl,
      vm: gpu9, deployAfter: demo-serve }
plan:
  items: [{ number: '1', title: 部署, due: 周一, recipe: demo-serve }]
`;

const CANARY_ENV = {
  SLACK_BOT_TOKEN: 'xoxb-canary-1111',
  SLACK_APP_TOKEN: 'xapp-canary-2222',
  SLACK_SIGNING_SECRET: 'canary-signing-3333',
  AZURE_CLIENT_SECRET: 'canary-azure-4444',
  REDIS_URL: 'redis://:canary-redis-5555@127.0.0.1:6379',
};
const CANARIES = ['xoxb-canary-1111', 'xapp-canary-2222', 'canary-signing-3333', 'canary-azure-4444', 'canary-redis-5555'];

/** A config that pastes each canary into a field whose error message quotes the value. */
const QUOTES_CANARIES = `slack: { channel: C0RUNS }
team:
  members: [{ id: U0ALICE01, name: Alice }]
vms:
  local: { transport: local }
recipes:
  demo:
    kind: train
    model: m
    dataset: d
    vm: canary-azure-4444
    deployAfter: canary-redis-5555
    stages: [{ stage: sft, from: xapp-canary-2222 }]
plan:
  items: [{ number: '1', title: t, due: 周一, vm: xoxb-canary-1111, recipe: canary-signing-3333 }]
`;

function runCli(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  // Only PATH and HOME come from this process, so a developer's own tokens never reach the child.
  const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  return spawnSync(process.execPath, [path.join(repoRoot, 'bin/trainops.mjs'), ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...baseEnv, ...env } });
}

describe('checkConfigFile', () => {
  it('accepts the demo config', () => {
    const check = checkConfigFile('config/demo.yaml');
    expect(check.ok).toBe(true);
    expect(check.report).toEqual(['OK: 1 VMs, 1 recipes']);
    expect(check.problems).toEqual([]);
  });

  it('warns about placeholder host keys', () => {
    const check = checkConfigFile('config/trainops.example.yaml');
    expect(check.ok).toBe(true);
    expect(check.report[0]).toMatch(/^OK: 4 VMs, \d+ recipes \(\d+ warnings\)$/);
    expect(check.problems).toContain(
      'warning: vms.yanshiyiliao.ssh.hostKey SHA256:REPLACEwithTHEhostKEYfromSSHkeygenLFxxxxxxx looks like a placeholder; put the VM\'s fingerprint there (run ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the VM)',
    );
    expect(check.problems).toContain('warning: vms.yanshiyiliao.azure.subscriptionId is the all-zero placeholder; put the Azure subscription id there');
  });

  it('lists every problem of an invalid file', () => {
    const file = path.join(workDir, 'bad.yaml');
    writeFileSync(file, 'locale: fr\n');
    const check = checkConfigFile(file);
    expect(check.ok).toBe(false);
    expect(check.problems[0]).toBe(`Invalid config ${file}:`);
    expect(check.problems).toContain('  team: Invalid input: expected object, received undefined');
    expect(check.problems.some((line) => line.startsWith('  locale:'))).toBe(true);
  });

  it('lists schema and reference problems together', () => {
    const file = path.join(workDir, 'both.yaml');
    writeFileSync(file, BOTH_KINDS);
    const check = checkConfigFile(file);

    expect(check.ok).toBe(false);
    expect(check.report).toEqual([]);
    expect(check.problems).toEqual([
      `Invalid config ${file}:`,
      '  plan.items.0.recipe: unknown recipe "demo-serve"; define it under recipes or use one of: demo (line 13)',
      '  recipes.demo.deployAfter: unknown recipe "demo-serve"; define it under recipes or use one of: demo (line 11)',
      '  recipes.demo.vm: unknown VM "gpu9"; define it under vms or use one of: local (line 11)',
      '  slack.channel: Invalid input: expected string, received undefined (line 1)',
      '  team.oncall.rotation.0: U0NOBODY01 is not in team.members (line 5)',
      '  vms.local.gpus: Too small: expected number to be >=0 (line 7)',
    ]);
  });

  it('warns about a secret in the file', () => {
    const file = path.join(workDir, 'pasted-token.yaml');
    writeFileSync(file, readFileSync(path.join(repoRoot, 'config/demo.yaml'), 'utf8').replace('  channel: C0DEMO\n', '  channel: C0DEMO\n  botToken: xoxb-canary-1111\n'));
    const check = checkConfigFile(file);

    expect(check.ok).toBe(true);
    expect(check.report).toEqual(['OK: 1 VMs, 1 recipes (1 warnings)']);
    expect(check.problems).toEqual([
      'warning: slack.botToken is ignored because secrets are read only from the environment; set SLACK_BOT_TOKEN there and delete slack.botToken from the file',
    ]);
  });

  it('reports a missing file', () => {
    const check = checkConfigFile(path.join(workDir, 'missing.yaml'));
    expect(check.ok).toBe(false);
    expect(check.problems.join('\n')).toContain('file not found');
  });
});

describe('trainops check-config', () => {
  it('exits 0 and prints OK for a usable file', () => {
    const result = spawnSync(process.execPath, [path.join(repoRoot, 'bin/trainops.mjs'), 'check-config', 'config/demo.yaml'], { cwd: repoRoot, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('OK: 1 VMs, 1 recipes\n');
  });

  it('exits 1 on problems', () => {
    const file = path.join(workDir, 'bad-cli.yaml');
    writeFileSync(file, 'locale: fr\n');
    const result = spawnSync(process.execPath, [path.join(repoRoot, 'bin/trainops.mjs'), 'check-config', file], { cwd: repoRoot, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('locale:');
  });

  it('prints both kinds of problem', () => {
    const file = path.join(workDir, 'both-cli.yaml');
    writeFileSync(file, BOTH_KINDS);
    const result = runCli(['check-config', file]);

    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('  slack.channel: Invalid input: expected string, received undefined (line 1)\n');
    expect(result.stderr).toContain('  recipes.demo.vm: unknown VM "gpu9"; define it under vms or use one of: local (line 11)\n');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(7);
  });

  it('never prints a secret', () => {
    const file = path.join(workDir, 'canaries.yaml');
    writeFileSync(file, QUOTES_CANARIES);
    const result = runCli(['check-config', file], CANARY_ENV);

    expect(result.status).toBe(1);
    for (const canary of CANARIES) expect(result.stderr).not.toContain(canary);
    expect(result.stderr).toContain('recipes.demo.vm: unknown VM "[redacted]"');
    expect(result.stderr).toContain('recipes.demo.deployAfter: unknown recipe "[redacted]"');
    expect(result.stderr).toContain('recipes.demo.stages.0.from: "[redacted]" is not an earlier stage');
    expect(result.stderr).toContain('plan.items.0.vm: unknown VM "[redacted]"');
    expect(result.stderr).toContain('plan.items.0.recipe: unknown recipe "[redacted]"');
  });
});

describe('trainops startup', () => {
  it('refuses an invalid config', () => {
    const file = path.join(workDir, 'startup.yaml');
    writeFileSync(file, QUOTES_CANARIES);
    const result = runCli(['worker'], { ...CANARY_ENV, TRAINOPS_CONFIG: file });

    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`Invalid config ${file}:`);
    expect(result.stderr).toContain('recipes.demo.vm: unknown VM "[redacted]"');
    for (const canary of CANARIES) expect(result.stderr).not.toContain(canary);
  });
});
