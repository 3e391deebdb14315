import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { checkConfigFile, parseCheckConfigArgs } from '../src/check-config.js';
import { CANARIES, CANARY_ENV } from './support/canaries.js';
import { getFreePort } from './support/free-port.js';
import { startRedis } from './support/redis.js';

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

/** The demo config with `autoStop` misspelt under its VM. */
const DEMO_TYPO = readFileSync(path.join(repoRoot, 'config/demo.yaml'), 'utf8').replace('    gpus: 0\n', '    gpus: 0\n    autostop: { enabled: true }\n');
const DEMO_TYPO_WARNING = 'warning: vms.local.autostop is not a known key, so it is ignored; did you mean autoStop? (line 27)';

/** The demo config with its learning rate option misspelt, which the trainer would reject at launch. */
const DEMO_OPTION_TYPO = readFileSync(path.join(repoRoot, 'config/demo.yaml'), 'utf8').replace('      learning_rate: 1.0e-3\n', '      learnig_rate: 1e-4\n');
const DEMO_OPTION_PROBLEM = '  recipes.demo.hyperparameters.learnig_rate: unknown trainer option "learnig_rate"; did you mean learning_rate? (line 40)';

function runCli(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  // Only PATH and HOME come from this process, so a developer's own tokens never reach the child.
  const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  return spawnSync(process.execPath, [path.join(repoRoot, 'bin/trainops.mjs'), ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...baseEnv, ...env } });
}

describe('checkConfigFile', () => {
  it('accepts the demo config', () => {
    const check = checkConfigFile('config/demo.yaml');
    expect(check.ok).toBe(true);
    expect(check.report).toEqual(['OK: 1 VM, 1 recipe']);
    expect(check.problems).toEqual([]);
  });

  it('warns about placeholder host keys', () => {
    const check = checkConfigFile('config/trainops.example.yaml');
    expect(check.ok).toBe(true);
    expect(check.report[0]).toMatch(/^OK: 4 VMs, \d+ recipes \(\d+ warnings\)$/);
    expect(check.problems).toContain(
      'warning: vms.yanshiyiliao.ssh.hostKey SHA256:REPLACEwithTHEhostKEYfromSSHkeygenLFxxxxxxx looks like a placeholder; put the VM\'s fingerprint there (run ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the VM) (line 58)',
    );
    expect(check.problems).toContain('warning: vms.yanshiyiliao.azure.subscriptionId is the all-zero placeholder; put the Azure subscription id there (line 60)');
  });

  it('lists every problem of an invalid file', () => {
    const file = path.join(workDir, 'bad.yaml');
    writeFileSync(file, 'locale: fr\n');
    const check = checkConfigFile(file);
    expect(check.ok).toBe(false);
    expect(check.problems[0]).toBe(`Invalid config ${file}:`);
    expect(check.problems).toContain('  team: section missing; add a team: section (config/trainops.example.yaml shows one)');
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
      '  slack.channel: missing; expected a value of type string (line 1)',
      '  team.oncall.rotation.0: U0NOBODY01 is not in team.members (line 5)',
      '  vms.local.gpus: Too small: expected number to be >=0 (line 7)',
      '  recipes.demo.deployAfter: unknown recipe "demo-serve"; define a deploy recipe under recipes or use one of: (none defined) (line 11)',
      '  recipes.demo.vm: unknown VM "gpu9"; define it under vms or use one of: local (line 11)',
      '  plan.items.0.recipe: unknown recipe "demo-serve"; define it under recipes or use one of: demo (line 13)',
    ]);
  });

  it('warns about a secret in the file', () => {
    const file = path.join(workDir, 'pasted-token.yaml');
    writeFileSync(file, readFileSync(path.join(repoRoot, 'config/demo.yaml'), 'utf8').replace('  channel: C0DEMO\n', '  channel: C0DEMO\n  botToken: xoxb-canary-1111\n'));
    const check = checkConfigFile(file);

    expect(check.ok).toBe(true);
    expect(check.report).toEqual(['OK: 1 VM, 1 recipe (1 warning)']);
    expect(check.problems).toEqual([
      'warning: slack.botToken is ignored because secrets are read only from the environment; set SLACK_BOT_TOKEN there and delete slack.botToken from the file (line 14)',
    ]);
  });

  it('warns about an unknown key', () => {
    const file = path.join(workDir, 'typo.yaml');
    writeFileSync(file, DEMO_TYPO);
    const check = checkConfigFile(file);

    expect(check.ok).toBe(true);
    expect(check.report).toEqual(['OK: 1 VM, 1 recipe (1 warning)']);
    expect(check.problems).toEqual([DEMO_TYPO_WARNING]);
  });

  it('fails on warnings when strict', () => {
    const file = path.join(workDir, 'typo-strict.yaml');
    writeFileSync(file, DEMO_TYPO);
    const check = checkConfigFile(file, { strict: true });

    expect(check.ok).toBe(false);
    expect(check.report).toEqual([]);
    expect(check.problems).toEqual([DEMO_TYPO_WARNING.replace(/^warning: /, 'error: ')]);
  });

  it('passes a clean file when strict', () => {
    const check = checkConfigFile('config/demo.yaml', { strict: true });
    expect(check.ok).toBe(true);
    expect(check.report).toEqual(['OK: 1 VM, 1 recipe']);
  });

  it('lists unknown keys after problems', () => {
    const file = path.join(workDir, 'typo-invalid.yaml');
    writeFileSync(file, DEMO_TYPO.replace('    gpus: 0\n', '    gpus: -1\n'));
    const check = checkConfigFile(file);

    expect(check.ok).toBe(false);
    expect(check.problems).toEqual([`Invalid config ${file}:`, '  vms.local.gpus: Too small: expected number to be >=0 (line 26)', DEMO_TYPO_WARNING]);
  });

  it('warns once about a secret key', () => {
    // slack.botToken is also unknown to the schema, but only the secret warning names the variable to use.
    const file = path.join(workDir, 'typo-and-token.yaml');
    writeFileSync(file, DEMO_TYPO.replace('  channel: C0DEMO\n', '  channel: C0DEMO\n  botToken: xoxb-canary-1111\n'));
    const check = checkConfigFile(file);

    expect(check.problems).toHaveLength(2);
    expect(check.problems[0]).toMatch(/^warning: slack\.botToken is ignored because secrets are read only from the environment/);
    expect(check.problems[1]).toBe(DEMO_TYPO_WARNING.replace('(line 27)', '(line 28)'));
  });

  it('lists warnings by line', () => {
    const check = checkConfigFile('config/trainops.example.yaml');
    const lines = check.problems.map((problem) => Number(/\(line (\d+)\)$/.exec(problem)?.[1]));
    expect(lines.every((line) => Number.isInteger(line))).toBe(true);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });

  it('rejects an unknown trainer option', () => {
    const file = path.join(workDir, 'option-typo.yaml');
    writeFileSync(file, DEMO_OPTION_TYPO);
    const check = checkConfigFile(file);

    expect(check.ok).toBe(false);
    expect(check.problems).toEqual([`Invalid config ${file}:`, DEMO_OPTION_PROBLEM]);
  });

  it('reports a missing file', () => {
    const check = checkConfigFile(path.join(workDir, 'missing.yaml'));
    expect(check.ok).toBe(false);
    expect(check.problems.join('\n')).toContain('file not found');
  });
});

describe('parseCheckConfigArgs', () => {
  it.each([
    { args: [], expected: { ok: true, strict: false } },
    { args: ['a.yaml'], expected: { ok: true, path: 'a.yaml', strict: false } },
    { args: ['--strict'], expected: { ok: true, strict: true } },
    { args: ['--strict', 'a.yaml'], expected: { ok: true, path: 'a.yaml', strict: true } },
    { args: ['a.yaml', '--strict'], expected: { ok: true, path: 'a.yaml', strict: true } },
    { args: ['--strcit'], expected: { ok: false, message: 'unknown option "--strcit" for check-config; the only option is --strict' } },
    { args: ['a.yaml', 'b.yaml'], expected: { ok: false, message: 'check-config takes one config path, got 2: a.yaml b.yaml' } },
  ])('parses $args', ({ args, expected }) => {
    expect(parseCheckConfigArgs(args)).toEqual(expected);
  });
});

describe('trainops check-config', () => {
  it('exits 0 and prints OK for a usable file', () => {
    const result = spawnSync(process.execPath, [path.join(repoRoot, 'bin/trainops.mjs'), 'check-config', 'config/demo.yaml'], { cwd: repoRoot, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('OK: 1 VM, 1 recipe\n');
  });

  it('exits 1 on problems', () => {
    const file = path.join(workDir, 'bad-cli.yaml');
    writeFileSync(file, 'locale: fr\n');
    const result = spawnSync(process.execPath, [path.join(repoRoot, 'bin/trainops.mjs'), 'check-config', file], { cwd: repoRoot, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('locale:');
  });

  it('exits 0 on an unknown key', () => {
    const file = path.join(workDir, 'typo-cli.yaml');
    writeFileSync(file, DEMO_TYPO);
    const result = runCli(['check-config', file]);

    expect(result.status).toBe(0);
    expect(result.stdout).toBe('OK: 1 VM, 1 recipe (1 warning)\n');
    expect(result.stderr).toBe(`${DEMO_TYPO_WARNING}\n`);
  });

  it('exits 1 on an unknown key with --strict', () => {
    const file = path.join(workDir, 'typo-cli-strict.yaml');
    writeFileSync(file, DEMO_TYPO);
    const result = runCli(['check-config', '--strict', file]);

    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`${DEMO_TYPO_WARNING.replace(/^warning: /, 'error: ')}\n`);
  });

  it('exits 0 on a clean file with --strict', () => {
    const result = runCli(['check-config', 'config/demo.yaml', '--strict']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('OK: 1 VM, 1 recipe\n');
  });

  it('exits 1 on an unknown trainer option', () => {
    const file = path.join(workDir, 'option-typo-cli.yaml');
    writeFileSync(file, DEMO_OPTION_TYPO);
    const result = runCli(['check-config', file]);

    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`Invalid config ${file}:\n${DEMO_OPTION_PROBLEM}\n`);
  });

  it('exits 2 on an unknown option', () => {
    const result = runCli(['check-config', '--strcit', 'config/demo.yaml']);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('trainops: unknown option "--strcit" for check-config; the only option is --strict\n');
  });

  it('prints both kinds of problem', () => {
    const file = path.join(workDir, 'both-cli.yaml');
    writeFileSync(file, BOTH_KINDS);
    const result = runCli(['check-config', file]);

    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('  slack.channel: missing; expected a value of type string (line 1)\n');
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

  it('refuses an unknown trainer option', () => {
    const file = path.join(workDir, 'startup-option-typo.yaml');
    writeFileSync(file, DEMO_OPTION_TYPO);
    const result = runCli(['worker'], { TRAINOPS_CONFIG: file });

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`Invalid config ${file}:\n${DEMO_OPTION_PROBLEM}\n`);
  });

  it('lists unknown keys of an invalid config', () => {
    const file = path.join(workDir, 'startup-typo-invalid.yaml');
    writeFileSync(file, DEMO_TYPO.replace('    gpus: 0\n', '    gpus: -1\n'));
    const result = runCli(['worker'], { TRAINOPS_CONFIG: file });

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`Invalid config ${file}:\n  vms.local.gpus: Too small: expected number to be >=0 (line 26)\n${DEMO_TYPO_WARNING}\n`);
  });

  it('logs unknown keys and starts', async () => {
    const redis = await startRedis();
    const file = path.join(workDir, 'startup-typo.yaml');
    writeFileSync(file, DEMO_TYPO.replace('mode: console', 'mode: http').replace('redisPrefix: trainops-demo', `redisPrefix: ${redis.prefix.slice(0, -1)}`));
    // The Slack Web API URL is a closed loopback port, so nothing leaves this machine.
    const env = { ...CANARY_ENV, REDIS_URL: redis.url, TRAINOPS_CONFIG: file, SLACK_API_URL: `http://127.0.0.1:${await getFreePort()}/api/` };
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/trainops.mjs'), 'worker'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));

    try {
      // Stop the worker once it has started. A start failure ends it by itself.
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('"msg":"trainops started"')) resolve();
        });
        child.on('exit', () => resolve());
      });
      child.kill('SIGTERM');
      expect(await exited, output).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await redis.stop();
    }

    const entries = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const warnings = entries.filter((entry) => entry.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ key: 'vms.local.autostop', line: 27, suggestion: 'autoStop', msg: `config: ${DEMO_TYPO_WARNING.slice('warning: '.length)}` });
    expect(entries.some((entry) => entry.msg === 'trainops started')).toBe(true);
  });
});
