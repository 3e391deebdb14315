import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

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
