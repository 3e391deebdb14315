import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { launchRun, readRunStatus } from '../../src/remote/launcher.js';
import { startSshd, vmConfigFor, type TestSshd } from '../support/sshd.js';
import { waitFor } from './run-helpers.js';

const execFileAsync = promisify(execFile);

describe('test support servers', () => {
  let redis: TestRedis;
  let sshd: TestSshd;

  beforeAll(async () => {
    [redis, sshd] = await Promise.all([startRedis(), startSshd()]);
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), sshd?.stop()]);
  });

  it('startRedis returns url and prefix', () => {
    expect(redis.url).toMatch(/^redis:\/\//);
    expect(redis.prefix).toMatch(/:$/);
  });

  it('uniquePrefix differs per call', () => {
    expect(uniquePrefix('q')).not.toBe(uniquePrefix('q'));
  });

  it('sshd accepts the client key', async () => {
    const { stdout } = await execFileAsync('ssh', [
      '-i', sshd.keyPath,
      '-p', String(sshd.port),
      '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null',
      `${sshd.user}@127.0.0.1`,
      'echo ok',
    ]);
    expect(stdout.trim()).toBe('ok');
  });

  it('sshd fingerprint has OpenSSH form', () => {
    expect(sshd.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

/** True while the process exists and is not a zombie waiting to be reaped. */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return stat !== '' && state !== 'Z';
}

describe('startSshd stop', () => {
  it('kills runs left in workdir', async () => {
    const sshd = await startSshd();
    const pool = new HostPool({ gpu1: vmConfigFor(sshd) }, pino({ level: 'silent' }));
    const host = await pool.get('gpu1');
    const runDir = `${sshd.workdir}/runs/1`;
    const launched = await launchRun(host, { runDir, python: 'python3', command: ['sleep', '300'], attempt: 1 });
    await waitFor('sleep to start', async () => ((await readRunStatus(host, runDir)).alive ? true : undefined));
    expect(await isRunning(launched.pid ?? 0)).toBe(true);

    await pool.closeAll();
    await sshd.stop();
    await waitFor('the run to die', async () => ((await isRunning(launched.pid ?? 0)) ? undefined : true), 10_000);
  });
});
