/**
 * The real trainer (python/trainops_trainer) on a tiny random model, shipped with
 * syncCode, launched with launchRun and followed with followRunEvents over real sshd.
 * It checks that every event the trainer writes fits the events v1 schemas.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findPythonRoot, syncCode } from '../../src/remote/code-sync.js';
import { followRunEvents } from '../../src/remote/event-follower.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { launchRun, signalRun } from '../../src/remote/launcher.js';
import type { MalformedLine, RunEvent } from '../../src/remote/run-events.js';
import { startSshd, vmConfigFor, type TestSshd } from '../support/sshd.js';
import { runJsonFor } from './run-helpers.js';

const logger = pino({ level: 'silent' });

describe('real trainer over SSH', () => {
  let sshd: TestSshd;
  let pool: HostPool;
  let python: string;
  const runDirs: string[] = [];

  beforeAll(async () => {
    python = execFileSync('bash', [path.join(findPythonRoot(), '..', 'scripts', 'python-env.sh')], { encoding: 'utf8' }).trim();
    sshd = await startSshd();
    pool = new HostPool({ gpu1: vmConfigFor(sshd, { python }) }, logger);
  });

  afterAll(async () => {
    const host = await pool?.get('gpu1').catch(() => undefined);
    if (host) for (const runDir of runDirs) await signalRun(host, runDir, 'KILL').catch(() => {});
    await pool?.closeAll();
    await sshd?.stop();
  });

  it('trains tiny-random-phi3 to completion', async () => {
    const host = await pool.get('gpu1');
    const { codeDir } = await syncCode(host, { localDir: findPythonRoot(), workdir: sshd.workdir });
    const runDir = path.join(sshd.workdir, 'runs', '1');
    runDirs.push(runDir);
    const runJson = runJsonFor(runDir, '1', {
      dataset: path.join(codeDir, 'trainops_trainer', 'samples', 'medical_sample.jsonl'),
      max_steps: 4,
      save_steps: 2,
      batch_size: 2,
      logging_steps: 1,
    });

    const launched = await launchRun(host, { runDir, codeDir, python, runJson, attempt: 1 });
    expect(launched.attached).toBe(false);

    const events: RunEvent[] = [];
    const malformed: MalformedLine[] = [];
    const result = await followRunEvents({
      hosts: pool,
      vmName: 'gpu1',
      runDir,
      fromOffset: 0,
      pollMs: 200,
      signal: AbortSignal.timeout(110_000),
      onEvents: (batch) => {
        events.push(...batch);
      },
      onMalformed: (lines) => {
        malformed.push(...lines);
      },
    });

    expect(malformed).toEqual([]);
    expect(result.reason).toBe('exited');
    expect(result.exitCode).toBe(0);
    expect(result.endEvent).toMatchObject({ status: 'succeeded', run_id: '1' });
    const types = events.map((event) => event.type);
    expect(types[0]).toBe('start');
    expect(types).not.toContain('unknown');
    expect(types.filter((type) => type === 'step').length).toBeGreaterThan(0);
    expect(types).toContain('checkpoint');
    expect(existsSync(path.join(runDir, 'output'))).toBe(true);
  });
});
