import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { syncCode } from '../../src/remote/code-sync.js';
import { followRunEvents, type FollowRunEventsOptions } from '../../src/remote/event-follower.js';
import { HostPool } from '../../src/remote/host-pool.js';
import type { ExecOptions, HostProvider } from '../../src/remote/host.js';
import { launchRun, readRunStatus, signalRun } from '../../src/remote/launcher.js';
import type { RunEvent } from '../../src/remote/run-events.js';
import type { VmConfig } from '../../src/config/schema.js';
import { startSshd, vmConfigFor, type TestSshd } from '../support/sshd.js';
import { STAND_IN_TRAINER, runJsonFor, waitFor } from './run-helpers.js';

const logger = pino({ level: 'silent' });

const localVm: VmConfig = {
  transport: 'local',
  gpus: 0,
  python: 'python3',
  workdir: '~/trainops',
  autoStop: { enabled: false, idleMinutes: 60, graceMinutes: 10 },
};

describe('followRunEvents over SSH', () => {
  let sshd: TestSshd;
  let pool: HostPool;
  let codeDir: string;
  const runDirs: string[] = [];

  const newRunDir = (): string => {
    const runDir = path.join(sshd.workdir, 'runs', String(runDirs.length + 1));
    runDirs.push(runDir);
    return runDir;
  };

  /** Follows with fast polling and records every batch handed over. */
  const follow = (runDir: string, overrides: Partial<FollowRunEventsOptions> = {}) => {
    const events: RunEvent[] = [];
    const offsets: number[] = [];
    const done = followRunEvents({
      hosts: pool,
      vmName: 'gpu1',
      runDir,
      fromOffset: 0,
      pollMs: 50,
      livenessCheckMs: 200,
      initialBackoffMs: 50,
      maxBackoffMs: 400,
      signal: new AbortController().signal,
      logger,
      onEvents: (batch, newOffset) => {
        events.push(...batch);
        offsets.push(newOffset);
      },
      ...overrides,
    });
    return { events, offsets, done };
  };

  const fileEvents = async (runDir: string): Promise<unknown[]> =>
    (await readFile(path.join(runDir, 'events.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));

  beforeAll(async () => {
    sshd = await startSshd();
    pool = new HostPool({ gpu1: vmConfigFor(sshd) }, logger);
    ({ codeDir } = await syncCode(await pool.get('gpu1'), { localDir: STAND_IN_TRAINER, workdir: sshd.workdir }));
  });

  afterAll(async () => {
    const host = await pool?.get('gpu1').catch(() => undefined);
    if (host) for (const runDir of runDirs) await signalRun(host, runDir, 'KILL').catch(() => {});
    await pool?.closeAll();
    await sshd?.stop();
  });

  it('returns the exit code at the end', async () => {
    const runDir = newRunDir();
    await launchRun(await pool.get('gpu1'), { runDir, codeDir, python: 'python3', runJson: runJsonFor(runDir, '1', { save_steps: 2 }), attempt: 1 });
    const { events, done } = follow(runDir);
    const result = await done;

    expect(result.reason).toBe('exited');
    expect(result.exitCode).toBe(0);
    expect(result.sawEnd).toBe(true);
    expect(result.endEvent?.status).toBe('succeeded');
    expect(events.map((event) => event.type)).toEqual(['start', 'step', 'step', 'checkpoint', 'step', 'end']);
    expect(result.offset).toBe((await stat(path.join(runDir, 'events.jsonl'))).size);
  });

  it('survives dropped connections exactly once', async () => {
    const runDir = newRunDir();
    const maxSteps = 40;
    await launchRun(await pool.get('gpu1'), {
      runDir,
      codeDir,
      python: 'python3',
      runJson: runJsonFor(runDir, '2', { max_steps: maxSteps, step_delay_seconds: 0.1 }),
      attempt: 1,
    });
    const unreachable: number[] = [];
    let reconnects = 0;
    const { events, done } = follow(runDir, {
      onUnreachable: (sinceMs) => {
        unreachable.push(sinceMs);
      },
      onReconnected: () => {
        reconnects += 1;
      },
    });

    await waitFor('a few steps', async () => (events.length >= 5 ? true : undefined));
    // A dropped connection alone may be replaced before the next poll notices anything,
    // so the host stays down until the follower has reported it unreachable.
    await sshd.pause();
    await waitFor('the outage reported', async () => (unreachable.length > 0 ? true : undefined));
    const eventsDuringOutage = events.length;
    await sshd.resume();
    const result = await done;

    expect(result.exitCode).toBe(0);
    expect(unreachable.length).toBeGreaterThan(0);
    expect(reconnects).toBeGreaterThan(0);
    expect(events.length).toBeGreaterThan(eventsDuringOutage);
    const steps = events.filter((event) => event.type === 'step').map((event) => (event as { step: number }).step);
    expect(steps).toEqual(Array.from({ length: maxSteps }, (_, index) => index + 1));
    expect(events).toEqual(await fileEvents(runDir));
  });

  it('resumes from a stored offset', async () => {
    const runDir = newRunDir();
    await launchRun(await pool.get('gpu1'), {
      runDir,
      codeDir,
      python: 'python3',
      runJson: runJsonFor(runDir, '3', { max_steps: 20, step_delay_seconds: 0.05 }),
      attempt: 1,
    });
    const controller = new AbortController();
    const first = follow(runDir, { signal: controller.signal });
    await waitFor('some steps', async () => (first.events.length >= 4 ? true : undefined));
    controller.abort();
    const stopped = await first.done;
    expect(stopped.reason).toBe('aborted');

    const second = follow(runDir, { fromOffset: stopped.offset });
    const result = await second.done;

    expect(result.exitCode).toBe(0);
    expect([...first.events, ...second.events]).toEqual(await fileEvents(runDir));
  });

  it('reports a crash without end event', async () => {
    const runDir = newRunDir();
    await launchRun(await pool.get('gpu1'), { runDir, python: 'python3', command: ['sh', '-c', 'exit 3'], attempt: 1 });
    const { events, done } = follow(runDir);
    const result = await done;

    expect(result.reason).toBe('exited');
    expect(result.exitCode).toBe(3);
    expect(result.sawEnd).toBe(false);
    expect(events).toEqual([]);
  });

  it('skips liveness checks while events arrive', async () => {
    const runDir = newRunDir();
    await launchRun(await pool.get('gpu1'), {
      runDir,
      codeDir,
      python: 'python3',
      runJson: runJsonFor(runDir, '4', { max_steps: 40, step_delay_seconds: 0.05 }),
      attempt: 1,
    });
    await waitFor('the first event', async () => ((await fileEvents(runDir).catch(() => [])).length > 0 ? true : undefined));
    // Every command the follower runs on the VM goes through this host, and the status script is its liveness check.
    const commands: string[][] = [];
    const counting: HostProvider = {
      get: async (vmName) => {
        const host = await pool.get(vmName);
        return new Proxy(host, {
          get: (target, property, receiver) => {
            if (property !== 'exec') return Reflect.get(target, property, receiver) as unknown;
            return (argv: readonly string[], options?: ExecOptions) => {
              commands.push([...argv]);
              return target.exec(argv, options);
            };
          },
        });
      },
      invalidate: (vmName, host) => pool.invalidate(vmName, host),
      closeAll: async () => {},
    };

    const { events, done } = follow(runDir, { hosts: counting, livenessCheckMs: 5000 });
    const result = await done;

    expect(result.exitCode).toBe(0);
    expect(events.filter((event) => event.type === 'step')).toHaveLength(40);
    expect(commands.filter((argv) => argv.includes('run-status'))).toEqual([]);
  });

  it('ends after an end event without exit_code', async () => {
    const runDir = newRunDir();
    const end = JSON.stringify({ v: 1, type: 'end', time: '2026-12-04T20:00:00+08:00', run_id: '9', status: 'succeeded', step: 3, output_path: null });
    // A trainer that hangs on exit after its last event, as a stuck NCCL shutdown does.
    await launchRun(await pool.get('gpu1'), {
      runDir,
      python: 'python3',
      command: ['sh', '-c', 'printf "%s\\n" "$1" >> events.jsonl; exec sleep 300', 'hang', end],
      attempt: 1,
    });
    const { events, done } = follow(runDir, { exitCodeGraceMs: 300 });
    const result = await done;

    expect(result.reason).toBe('ended');
    expect(result.exitCode).toBeNull();
    expect(result.endEvent?.status).toBe('succeeded');
    expect(events.map((event) => event.type)).toEqual(['end']);
  });

  it('reports a process that vanished', async () => {
    const runDir = newRunDir();
    const host = await pool.get('gpu1');
    const launched = await launchRun(host, { runDir, python: 'python3', command: ['sleep', '300'], attempt: 1 });
    await waitFor('sleep to start', async () => ((await readRunStatus(host, runDir)).alive ? true : undefined));
    const { done } = follow(runDir);

    // Killing the whole group, wrapper included, is what a VM reboot does to a run.
    await host.exec(['kill', '-KILL', '--', `-${launched.pid}`]);
    const result = await done;

    expect(result.reason).toBe('vanished');
    expect(result.exitCode).toBeNull();
  });

  it('gives up after giveUpAfterMs', async () => {
    const unreachablePool = new HostPool({ gpu1: vmConfigFor(sshd, { ssh: { ...vmConfigFor(sshd).ssh!, port: 1 } }) }, logger);
    const calls: number[] = [];
    const result = await followRunEvents({
      hosts: unreachablePool,
      vmName: 'gpu1',
      runDir: '/nowhere',
      fromOffset: 12,
      pollMs: 50,
      initialBackoffMs: 20,
      maxBackoffMs: 40,
      giveUpAfterMs: 200,
      signal: new AbortController().signal,
      onEvents: () => {},
      onUnreachable: (sinceMs) => {
        calls.push(sinceMs);
      },
    });

    expect(result.reason).toBe('unreachable');
    expect(result.offset).toBe(12);
    expect(calls[0]).toBe(0);
    expect(calls.length).toBeGreaterThan(1);
  });

  it('propagates an onEvents error', async () => {
    const runDir = newRunDir();
    await launchRun(await pool.get('gpu1'), { runDir, codeDir, python: 'python3', runJson: runJsonFor(runDir, '7'), attempt: 1 });
    const failure = Object.assign(new Error('redis down'), { code: 'ECONNRESET' });
    const { done } = follow(runDir, {
      onEvents: () => {
        throw failure;
      },
    });
    await expect(done).rejects.toBe(failure);
  });
});

describe('followRunEvents on a local VM', () => {
  let workdir: string;

  beforeAll(async () => {
    workdir = await mkdtemp(path.join(os.tmpdir(), 'trainops-local-vm-'));
  });

  afterAll(async () => {
    await rm(workdir, { recursive: true, force: true });
  });

  it('launches once and follows to the end', async () => {
    const pool = new HostPool({ here: { ...localVm, workdir } }, logger);
    const host = await pool.get('here');
    const { codeDir } = await syncCode(host, { localDir: STAND_IN_TRAINER, workdir });
    const runDir = path.join(workdir, 'runs', '1');
    const spec = { runDir, codeDir, python: 'python3', runJson: runJsonFor(runDir, '1', { max_steps: 5 }), attempt: 1 };

    const launches = await Promise.all([launchRun(host, spec), launchRun(host, spec)]);
    expect(launches.filter((launch) => !launch.attached)).toHaveLength(1);

    const events: RunEvent[] = [];
    const result = await followRunEvents({
      hosts: pool,
      vmName: 'here',
      runDir,
      fromOffset: 0,
      pollMs: 50,
      signal: AbortSignal.timeout(60_000),
      onEvents: (batch) => {
        events.push(...batch);
      },
    });

    expect(result.exitCode).toBe(0);
    expect(events.filter((event) => event.type === 'step')).toHaveLength(5);
    expect((await readFile(path.join(runDir, 'launches.txt'), 'utf8')).split('\n').filter(Boolean)).toHaveLength(1);
  });
});
