import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { syncCode } from '../../src/remote/code-sync.js';
import type { Host } from '../../src/remote/host.js';
import { HostPool } from '../../src/remote/host-pool.js';
import {
  AttemptSupersededError,
  PreviousAttemptRunningError,
  buildCommand,
  launchRun,
  readRunStatus,
  signalRun,
} from '../../src/remote/launcher.js';
import { startSshd, vmConfigFor, type TestSshd } from '../support/sshd.js';
import { STAND_IN_TRAINER, runJsonFor, waitFor, waitForExit } from './run-helpers.js';

describe('launchRun over SSH', () => {
  let sshd: TestSshd;
  let pool: HostPool;
  let host: Host;
  let codeDir: string;
  const runDirs: string[] = [];

  const newRunDir = (): string => {
    const runDir = path.join(sshd.workdir, 'runs', String(runDirs.length + 1));
    runDirs.push(runDir);
    return runDir;
  };
  const lines = async (file: string): Promise<string[]> => (await readFile(file, 'utf8')).split('\n').filter(Boolean);

  beforeAll(async () => {
    sshd = await startSshd();
    pool = new HostPool({ gpu1: vmConfigFor(sshd) }, pino({ level: 'silent' }));
    host = await pool.get('gpu1');
    ({ codeDir } = await syncCode(host, { localDir: STAND_IN_TRAINER, workdir: sshd.workdir }));
  });

  afterAll(async () => {
    // A failed assertion can leave a detached run behind; stop every one this file started.
    const cleanupHost = await pool?.get('gpu1');
    for (const runDir of runDirs) await signalRun(cleanupHost, runDir, 'KILL').catch(() => {});
    await pool?.closeAll();
    await sshd?.stop();
  });

  it('runs the trainer to its exit code', async () => {
    const runDir = newRunDir();
    const launched = await launchRun(host, { runDir, codeDir, python: 'python3', runJson: runJsonFor(runDir, '1'), attempt: 1 });
    expect(launched.attached).toBe(false);

    const state = await waitForExit(host, runDir);
    expect(state.exitCode).toBe(0);
    expect(state.alive).toBe(false);
    const events = (await lines(path.join(runDir, 'events.jsonl'))).map((line) => JSON.parse(line).type);
    expect(events).toEqual(['start', 'step', 'step', 'step', 'end']);
    expect(await readFile(path.join(runDir, 'train.log'), 'utf8')).toContain('stand-in trainer: 3 steps');
    expect(JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8')).run_id).toBe('1');
    // The header's offset has a colon, like the trainer's own log lines.
    expect(await readFile(path.join(runDir, 'train.log'), 'utf8')).toMatch(/^=== attempt 1 started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d ===$/m);
  });

  it('concurrent launches start one process', async () => {
    const runDir = newRunDir();
    const spec = { runDir, codeDir, python: 'python3', runJson: runJsonFor(runDir, '2', { step_delay_seconds: 0.2 }), attempt: 1 };
    const results = await Promise.all([launchRun(host, spec), launchRun(host, spec), launchRun(host, spec)]);

    expect(results.filter((result) => !result.attached)).toHaveLength(1);
    await waitForExit(host, runDir);
    expect(await lines(path.join(runDir, 'launches.txt'))).toHaveLength(1);

    const again = await launchRun(host, spec);
    expect(again.attached).toBe(true);
    expect(await lines(path.join(runDir, 'launches.txt'))).toHaveLength(1);
    expect(existsSync(path.join(runDir, '.run.json.attempt-1'))).toBe(false);
  });

  it('next attempt archives the previous one', async () => {
    const runDir = newRunDir();
    const first = await launchRun(host, { runDir, codeDir, python: 'python3', runJson: runJsonFor(runDir, '3', { exit_code: 1 }), attempt: 1 });
    await waitForExit(host, runDir);

    const second = await launchRun(host, { runDir, codeDir, python: 'python3', runJson: runJsonFor(runDir, '3'), attempt: 2 });
    expect(second.attached).toBe(false);
    const state = await waitForExit(host, runDir);

    expect(state.attempt).toBe(2);
    expect(state.exitCode).toBe(0);
    expect(await readFile(path.join(runDir, 'attempt-1', 'exit_code'), 'utf8')).toBe('1\n');
    expect(Number(await readFile(path.join(runDir, 'attempt-1', 'pid'), 'utf8'))).toBe(first.pid);
    expect(JSON.parse(await readFile(path.join(runDir, 'attempt-1', 'run.json'), 'utf8')).exit_code).toBe(1);
    expect(await lines(path.join(runDir, 'launches.txt'))).toHaveLength(2);

    await expect(launchRun(host, { runDir, codeDir, python: 'python3', attempt: 1 })).rejects.toBeInstanceOf(AttemptSupersededError);
  });

  it('refuses a new attempt while one runs', async () => {
    const runDir = newRunDir();
    const slow = runJsonFor(runDir, '4', { max_steps: 1000, step_delay_seconds: 0.2 });
    await launchRun(host, { runDir, codeDir, python: 'python3', runJson: slow, attempt: 1 });

    await expect(launchRun(host, { runDir, codeDir, python: 'python3', runJson: slow, attempt: 2 })).rejects.toBeInstanceOf(
      PreviousAttemptRunningError,
    );
    expect(await signalRun(host, runDir, 'TERM')).toBe('signalled');
    const state = await waitForExit(host, runDir);
    expect(state.exitCode).toBe(143);
    const last = (await lines(path.join(runDir, 'events.jsonl'))).at(-1) ?? '';
    expect(JSON.parse(last)).toMatchObject({ type: 'end', status: 'failed', error: { type: 'interrupted' } });
    expect(await signalRun(host, runDir, 'TERM')).toBe('ended');
  });

  it('KILL records exit code 137', async () => {
    const runDir = newRunDir();
    await launchRun(host, { runDir, python: 'python3', command: ['sleep', '300'], attempt: 1 });
    await waitFor('sleep to start', async () => ((await readRunStatus(host, runDir)).alive ? true : undefined));

    expect(await signalRun(host, runDir, 'KILL')).toBe('signalled');
    const state = await waitFor('process group to die', async () => {
      const current = await readRunStatus(host, runDir);
      return current.alive ? undefined : current;
    });
    expect(state.exitCode).toBe(137);
  });

  it('runs a generic command with env', async () => {
    const runDir = newRunDir();
    const hostile = `a b; touch ${runDir}/canary $(touch ${runDir}/canary2) \`id\``;
    await launchRun(host, {
      runDir,
      codeDir,
      python: 'python3',
      command: ['sh', '-c', 'printf "%s|%s|%s\\n" "$EXTRA" "$PYTHONPATH" "$PYTHONUNBUFFERED"; exit 7'],
      env: { EXTRA: hostile },
      attempt: 1,
    });
    const state = await waitForExit(host, runDir);

    expect(state.exitCode).toBe(7);
    expect(await readFile(path.join(runDir, 'train.log'), 'utf8')).toContain(`${hostile}|${codeDir}|1\n`);
    expect(existsSync(path.join(runDir, 'canary'))).toBe(false);
    expect(existsSync(path.join(runDir, 'canary2'))).toBe(false);
    expect(existsSync(path.join(runDir, 'run.json'))).toBe(false);
  });

  it('run survives a dropped connection', async () => {
    const runDir = newRunDir();
    await launchRun(host, { runDir, python: 'python3', command: ['sleep', '300'], attempt: 1 });
    await sshd.dropConnections();

    // The pool drops the host once ssh2 reports the close; the next get reconnects.
    host = await waitFor('a new pooled connection', async () => {
      const pooled = await pool.get('gpu1').catch(() => undefined);
      return pooled === host ? undefined : pooled;
    });
    const state = await readRunStatus(host, runDir);
    expect(state.alive).toBe(true);
    expect(await signalRun(host, runDir, 'KILL')).toBe('signalled');
  });

  it('reports a missing run directory', async () => {
    const state = await readRunStatus(host, path.join(sshd.workdir, 'runs', 'never'));
    expect(state.exists).toBe(false);
  });
});

describe('buildCommand', () => {
  it('uses the trainer by default', () => {
    expect(buildCommand({ python: '/venv/bin/python' }, '/r/1')).toEqual([
      '/venv/bin/python', '-m', 'trainops_trainer', 'train', '--config', '/r/1/run.json',
    ]);
  });

  it('uses torch.distributed.run for several GPUs', () => {
    expect(buildCommand({ python: 'python3', gpus: 2 }, '/r/1')).toEqual([
      'python3', '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
      '-m', 'trainops_trainer', 'train', '--config', '/r/1/run.json',
    ]);
  });

  it('keeps a given command as is', () => {
    expect(buildCommand({ python: 'python3', gpus: 4, command: ['vllm', 'serve', 'm'] }, '/r/1')).toEqual(['vllm', 'serve', 'm']);
  });
});
