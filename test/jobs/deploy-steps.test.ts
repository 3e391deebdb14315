/**
 * Waiting for a detached process across an SSH outage: a real sshd that stops while the
 * process keeps running, so the wait gives up as unreachable after `runs.lostAfterSeconds`.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { systemClock } from '../../src/jobs/clock.js';
import { waitForExit } from '../../src/jobs/deploy-steps.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import type { RunWorkerDeps } from '../../src/jobs/run-worker.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { launchRun } from '../../src/remote/launcher.js';
import { startSshd, vmConfigFor, type TestSshd } from '../support/sshd.js';

const logger = pino({ level: 'silent' });

describe('waitForExit', () => {
  let sshd: TestSshd | undefined;
  let pool: HostPool | undefined;
  let pid: number | undefined;
  let keyCopy: string | undefined;

  afterEach(async () => {
    if (pid !== undefined) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already ended.
      }
    }
    await pool?.closeAll();
    await sshd?.stop();
    if (keyCopy) rmSync(path.dirname(keyCopy), { recursive: true, force: true });
  });

  it('returns the exit code of an ended process', async () => {
    sshd = await startSshd();
    pool = new HostPool({ vm: vmConfigFor(sshd) }, logger);
    const runDir = path.join(sshd.workdir, 'runs', '1');
    const launch = await launchRun(await pool.get('vm'), { runDir, python: 'python3', command: ['sh', '-c', 'exit 7'], attempt: 1 });
    pid = launch.pid ?? undefined;

    const deps = { hosts: pool, clock: systemClock, config: { runs: { lostAfterSeconds: 30 } } } as unknown as RunWorkerDeps;
    const wait = await waitForExit(deps, { id: '1', vm: 'vm' } as RunRecord, runDir, 100);

    expect(wait.exited).toBe(true);
    expect(wait.exited && wait.state.exitCode).toBe(7);
  });

  it('gives up when the host stays unreachable', async () => {
    sshd = await startSshd();
    // stop() deletes the server's folder with the client key, so keep a copy to keep logging in.
    keyCopy = path.join(mkdtempSync(path.join(os.tmpdir(), 'trainops-key-')), 'client_ed25519');
    copyFileSync(sshd.keyPath, keyCopy);
    const vm = vmConfigFor(sshd);
    pool = new HostPool({ vm: { ...vm, ssh: { ...vm.ssh!, keyPath: keyCopy } } }, logger);
    const runDir = path.join(sshd.workdir, 'runs', '2');
    const launch = await launchRun(await pool.get('vm'), { runDir, python: 'python3', command: ['sleep', '60'], attempt: 1 });
    pid = launch.pid ?? undefined;
    const deps = { hosts: pool, clock: systemClock, config: { runs: { lostAfterSeconds: 1 } } } as unknown as RunWorkerDeps;

    const stopped = sshd.stop();
    sshd = undefined;
    await stopped;
    const wait = await waitForExit(deps, { id: '2', vm: 'vm' } as RunRecord, runDir, 200);

    expect(wait.exited).toBe(false);
    expect(!wait.exited && wait.unreachableForMs).toBeGreaterThanOrEqual(1000);
  });
});
