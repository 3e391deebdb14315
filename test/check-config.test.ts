import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
});
