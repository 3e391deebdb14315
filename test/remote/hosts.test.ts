import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HostAuthenticationError, HostUnreachableError } from '../../src/remote/errors.js';
import type { Host } from '../../src/remote/host.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { LocalHost } from '../../src/remote/local-host.js';
import { SshHost } from '../../src/remote/ssh-host.js';
import { startSshd, vmConfigFor, type TestSshd } from '../support/sshd.js';
import { waitFor } from './run-helpers.js';

const logger = pino({ level: 'silent' });

interface Fixture {
  host: Host;
  /** Absolute folder on the host for this suite's files. */
  root: string;
  close(): Promise<void>;
}

const HOSTILE_PAYLOADS = (canary: string): string[] => [
  `; touch ${canary}`,
  `$(touch ${canary})`,
  `\`touch ${canary}\``,
  `x\ntouch ${canary}`,
  `' ; touch ${canary} ; '`,
  `" ; touch ${canary} ; "`,
  `&& touch ${canary}`,
  `| touch ${canary}`,
  `> ${canary}`,
];

function describeHost(name: string, setUp: () => Promise<Fixture>): void {
  describe(name, () => {
    let fixture: Fixture;
    let host: Host;
    let root: string;

    beforeAll(async () => {
      fixture = await setUp();
      host = fixture.host;
      root = fixture.root;
    });

    afterAll(async () => {
      await fixture?.close();
    });

    it('exec returns output and exit code', async () => {
      const result = await host.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
      expect(result.stdout).toBe('out\n');
      expect(result.stderr).toBe('err\n');
      expect(result.code).toBe(3);
    });

    it('exec passes stdin and cwd', async () => {
      const result = await host.exec(['sh', '-c', 'cat; pwd'], { stdin: 'in 训练\n', cwd: root });
      expect(result.stdout).toBe(`in 训练\n${root}\n`);
    });

    it('exec fails in a missing cwd', async () => {
      const missing = path.join(root, 'no-such-dir');
      const result = await host.exec(['touch', 'created-in-wrong-place'], { cwd: missing });
      expect(result.code).not.toBe(0);
      expect(existsSync(path.join(os.homedir(), 'created-in-wrong-place'))).toBe(false);
    });

    it('exec reports a missing command', async () => {
      const result = await host.exec(['trainops-no-such-command', '--version']);
      expect(result.code).toBe(127);
    });

    it('exec kills a command past timeoutMs', async () => {
      const result = await host.exec(['sleep', '30'], { timeoutMs: 300 });
      expect(result.timedOut).toBe(true);
      expect(result.code).toBeNull();
    });

    it('exec runs many commands at once', async () => {
      const results = await Promise.all(Array.from({ length: 30 }, (_, index) => host.exec(['sh', '-c', `sleep 0.2; echo ${index}`])));
      expect(results.map((result) => result.stdout)).toEqual(Array.from({ length: 30 }, (_, index) => `${index}\n`));
    });

    it('hostile argv runs no command', async () => {
      const canary = path.join(root, `canary-${Math.random().toString(16).slice(2)}`);
      for (const payload of HOSTILE_PAYLOADS(canary)) {
        const result = await host.exec(['printf', '%s', payload]);
        expect(result.stdout).toBe(payload);
        expect(existsSync(canary)).toBe(false);
      }
    });

    it('readFileRange reads exact binary ranges', async () => {
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
      const file = path.join(root, 'binary.bin');
      await writeFile(file, bytes);

      const middle = await host.readFileRange(file, 10, 20);
      expect(middle.exists).toBe(true);
      expect(middle.size).toBe(256);
      expect(middle.data.equals(bytes.subarray(10, 30))).toBe(true);

      const tail = await host.readFileRange(file, 250, 100);
      expect(tail.data.equals(bytes.subarray(250))).toBe(true);

      const past = await host.readFileRange(file, 300, 10);
      expect(past.data.length).toBe(0);
      expect(past.size).toBe(256);
    });

    it('readFileRange reads a large file whole', async () => {
      const bytes = Buffer.alloc(300_000, 'x');
      bytes.write('end', bytes.length - 3);
      const file = path.join(root, 'large.txt');
      await writeFile(file, bytes);
      const whole = await host.readFileRange(file, 0, 1_000_000);
      expect(whole.data.equals(bytes)).toBe(true);
    });

    it('readFileRange reports a missing file', async () => {
      const result = await host.readFileRange(path.join(root, 'missing.jsonl'), 0, 100);
      expect(result.exists).toBe(false);
      expect(result.data.length).toBe(0);
    });

    it('writeFile creates parents and sets mode', async () => {
      const file = path.join(root, 'nested', 'deeper', 'run.json');
      await host.writeFile(file, '{"run_id":"1"}', 0o600);
      await host.writeFile(file, '{"run_id":"2"}', 0o600);
      expect(await readFile(file, 'utf8')).toBe('{"run_id":"2"}');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    });

    it('putDirectory replaces the tree', async () => {
      const local = await mkdtemp(path.join(os.tmpdir(), 'trainops-put-'));
      await mkdir(path.join(local, 'pkg', 'sub'), { recursive: true });
      await writeFile(path.join(local, 'pkg', '__init__.py'), '');
      await writeFile(path.join(local, 'pkg', 'sub', 'mod.py'), 'X = "训练"\n');
      await writeFile(path.join(local, '.hidden'), 'dot');
      const target = path.join(root, 'code', 'abc');

      await mkdir(target, { recursive: true });
      await writeFile(path.join(target, 'stale.py'), 'old');
      await host.putDirectory(local, target);

      expect(await readFile(path.join(target, 'pkg', 'sub', 'mod.py'), 'utf8')).toBe('X = "训练"\n');
      expect(await readFile(path.join(target, '.hidden'), 'utf8')).toBe('dot');
      expect(existsSync(path.join(target, 'stale.py'))).toBe(false);
      await rm(local, { recursive: true, force: true });
    });

    it('resolvePath expands home', async () => {
      const resolved = await host.resolvePath('~/trainops/runs');
      expect(path.isAbsolute(resolved)).toBe(true);
      expect(resolved.endsWith('/trainops/runs')).toBe(true);
      expect(await host.resolvePath('/abs/path')).toBe('/abs/path');
    });
  });
}

describeHost('LocalHost', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'trainops-local-'));
  return { host: new LocalHost('local', root), root, close: () => rm(root, { recursive: true, force: true }) };
});

let sshd: TestSshd;

describeHost('SshHost', async () => {
  sshd = await startSshd();
  const pool = new HostPool({ gpu1: vmConfigFor(sshd) }, logger);
  const host = await pool.get('gpu1');
  return {
    host,
    root: sshd.workdir,
    close: async () => {
      await pool.closeAll();
      await sshd.stop();
    },
  };
});

describe('HostPool with sshd', () => {
  let server: TestSshd;

  beforeAll(async () => {
    server = await startSshd();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('concurrent gets share one connection', async () => {
    const pool = new HostPool({ gpu1: vmConfigFor(server) }, logger);
    const [first, second] = await Promise.all([pool.get('gpu1'), pool.get('gpu1')]);
    expect(first).toBe(second);
    await pool.closeAll();
  });

  it('retries commands beyond MaxSessions', async () => {
    // 12 channels at once exceed the test sshd's MaxSessions of 10, so sshd refuses some.
    const host = await SshHost.connect('gpu1', vmConfigFor(server).ssh!, logger, { maxExecChannels: 12 });
    try {
      const results = await Promise.all(Array.from({ length: 12 }, (_, index) => host.exec(['sh', '-c', 'sleep 0.5; echo "$1"', 'sh', String(index)])));

      expect(results.map((result) => result.code)).toEqual(Array.from({ length: 12 }, () => 0));
      expect(results.map((result) => result.stdout.trim())).toEqual(Array.from({ length: 12 }, (_, index) => String(index)));
    } finally {
      host.close();
    }
  });

  it('rejects a mismatched host key', async () => {
    const wrongKey = 'SHA256:' + 'A'.repeat(43);
    const pool = new HostPool({ gpu1: vmConfigFor(server, { ssh: { ...vmConfigFor(server).ssh!, hostKey: wrongKey } }) }, logger);
    const error = await pool.get('gpu1').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'HOST_KEY_MISMATCH', actualFingerprint: server.hostKeyFingerprint });
    expect(String((error as Error).message)).not.toMatch(/PRIVATE KEY/);
  });

  it('rejects a client key sshd does not know', async () => {
    const other = await startSshd();
    try {
      const pool = new HostPool({ gpu1: vmConfigFor(server, { ssh: { ...vmConfigFor(server).ssh!, keyPath: other.keyPath } }) }, logger);
      const error = await pool.get('gpu1').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HostAuthenticationError);
      expect((error as Error).message).not.toMatch(/PRIVATE KEY/);
    } finally {
      await other.stop();
    }
  });

  it('rejects a missing key file', async () => {
    const missingKey = { ...vmConfigFor(server).ssh!, keyPath: '/nonexistent/id_ed25519' };
    const pool = new HostPool({ gpu1: vmConfigFor(server, { ssh: missingKey }) }, logger);
    await expect(pool.get('gpu1')).rejects.toMatchObject({ code: 'HOST_AUTH_FAILED' });
  });

  it('unreachable port raises HostUnreachableError', async () => {
    const closedPort = { ...vmConfigFor(server).ssh!, port: 1 };
    const pool = new HostPool({ gpu1: vmConfigFor(server, { ssh: closedPort }) }, logger);
    await expect(pool.get('gpu1')).rejects.toBeInstanceOf(HostUnreachableError);
  });

  it('unknown VM is rejected', async () => {
    const pool = new HostPool({ gpu1: vmConfigFor(server) }, logger);
    await expect(pool.get('nope')).rejects.toMatchObject({ code: 'UNKNOWN_VM' });
  });

  it('dropped connection reconnects on next get', async () => {
    const pool = new HostPool({ gpu1: vmConfigFor(server) }, logger);
    const first = await pool.get('gpu1');
    expect((await first.exec(['echo', 'before'])).stdout).toBe('before\n');

    await server.dropConnections();
    const failure = await first.exec(['echo', 'during']).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HostUnreachableError);

    const second = await pool.get('gpu1');
    expect(second).not.toBe(first);
    expect((await second.exec(['echo', 'after'])).stdout).toBe('after\n');
    await pool.closeAll();
  });

  it('reconnects after an sshd restart', async () => {
    const pool = new HostPool({ gpu1: vmConfigFor(server) }, logger);
    const first = await pool.get('gpu1');
    await server.restart();
    await expect(first.readFileRange('/etc/hostname', 0, 10)).rejects.toBeInstanceOf(HostUnreachableError);
    pool.invalidate('gpu1');
    const second = await pool.get('gpu1');
    expect((await second.exec(['echo', 'back'])).stdout).toBe('back\n');
    await pool.closeAll();
  });

  it('keepalive detects a frozen server', async () => {
    const fastKeepalive = { ...vmConfigFor(server).ssh!, keepaliveSeconds: 1 };
    const pool = new HostPool({ gpu1: vmConfigFor(server, { ssh: fastKeepalive }) }, logger);
    const host = (await pool.get('gpu1')) as SshHost;
    await server.freezeConnections();

    // ssh2 gives up after keepaliveCountMax (3) unanswered keepalives and closes the connection.
    await waitFor('the pool to drop the frozen connection', async () => (host.isClosed ? true : undefined), 30_000);
    await server.dropConnections();
    const fresh = await pool.get('gpu1');
    expect(fresh).not.toBe(host);
    expect((await fresh.exec(['echo', 'ok'])).stdout).toBe('ok\n');
    await pool.closeAll();
  });

  it('stale invalidate keeps the new connection', async () => {
    const pool = new HostPool({ gpu1: vmConfigFor(server) }, logger);
    const stale = await pool.get('gpu1');
    pool.invalidate('gpu1', stale);
    const fresh = await pool.get('gpu1');
    expect(fresh).not.toBe(stale);

    pool.invalidate('gpu1', stale);
    expect(await pool.get('gpu1')).toBe(fresh);
    expect((await fresh.exec(['echo', 'still open'])).stdout).toBe('still open\n');
    await pool.closeAll();
  });

  it('local transport yields LocalHost', async () => {
    const pool = new HostPool({ here: { ...vmConfigFor(server), transport: 'local' } }, logger);
    expect(await pool.get('here')).toBeInstanceOf(LocalHost);
  });
});
