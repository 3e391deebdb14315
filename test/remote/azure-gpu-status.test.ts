import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { combineGpuStatus, parseComputeApps, parseGpuQuery, parsePsUsers, parseWho } from '../../src/remote/gpu-status.js';
import { LocalHost } from '../../src/remote/local-host.js';
import { probeGpus, probeLoginSessions } from '../../src/remote/vm-probe.js';

const GPU_QUERY = [
  '0, GPU-aaaa-1111, 40321, 81559, 97, NVIDIA H100 80GB HBM3',
  '1, GPU-bbbb-2222, 3, 81559, 0, NVIDIA H100 80GB HBM3',
  '',
].join('\n');

const APPS_QUERY = ['GPU-aaaa-1111, 4242, 40000, /home/alice/venv/bin/python', 'GPU-aaaa-1111, 5151, [N/A], python3, with comma', ''].join('\n');

describe('parseGpuQuery', () => {
  it('reads every field', () => {
    const gpus = parseGpuQuery(GPU_QUERY);
    expect(gpus).toHaveLength(2);
    expect(gpus[0]).toEqual({
      index: 0,
      uuid: 'GPU-aaaa-1111',
      name: 'NVIDIA H100 80GB HBM3',
      memoryUsedMiB: 40321,
      memoryTotalMiB: 81559,
      utilizationPercent: 97,
      processes: [],
    });
  });

  it('turns [N/A] into null', () => {
    const [gpu] = parseGpuQuery('0, GPU-x, [N/A], 81559, [Not Supported], A100');
    expect(gpu?.memoryUsedMiB).toBeNull();
    expect(gpu?.utilizationPercent).toBeNull();
    expect(gpu?.memoryTotalMiB).toBe(81559);
  });

  it('skips short and garbage lines', () => {
    expect(parseGpuQuery('NVIDIA-SMI has failed\n0, GPU-x\nx, GPU-y, 1, 2, 3, A')).toEqual([]);
  });
});

describe('parseComputeApps', () => {
  it('groups processes by GPU', () => {
    const apps = parseComputeApps(APPS_QUERY);
    const processes = apps.get('GPU-aaaa-1111');
    expect(processes).toHaveLength(2);
    expect(processes?.[0]).toEqual({ pid: 4242, processName: '/home/alice/venv/bin/python', usedMemoryMiB: 40000 });
    expect(processes?.[1]?.processName).toBe('python3,with comma');
    expect(processes?.[1]?.usedMemoryMiB).toBeNull();
  });

  it('empty output has no processes', () => {
    expect(parseComputeApps('').size).toBe(0);
  });
});

describe('combineGpuStatus', () => {
  it('adds process owners from ps', () => {
    const gpus = combineGpuStatus(GPU_QUERY, APPS_QUERY, ' 4242 alice\n');
    expect(gpus[0]?.processes[0]?.user).toBe('alice');
    expect(gpus[0]?.processes[1]?.user).toBeUndefined();
    expect(gpus[1]?.processes).toEqual([]);
  });

  it('parsePsUsers reads pid and user', () => {
    expect([...parsePsUsers('  12 root\n345 bob\nbad line\n')]).toEqual([
      [12, 'root'],
      [345, 'bob'],
    ]);
  });
});

describe('parseWho', () => {
  it('reads sessions with and without address', () => {
    const sessions = parseWho('alice    pts/0        2026-12-04 19:58 (10.0.0.5)\nbob      tty1         2026-12-04 08:01\n\n');
    expect(sessions).toEqual([
      { user: 'alice', line: 'pts/0', loginTime: '2026-12-04 19:58', from: '10.0.0.5' },
      { user: 'bob', line: 'tty1', loginTime: '2026-12-04 08:01' },
    ]);
  });

  it('empty output has no sessions', () => {
    expect(parseWho('')).toEqual([]);
  });
});

describe('probeGpus on a local host', () => {
  let binDir: string;
  const originalPath = process.env.PATH;

  beforeAll(async () => {
    // A stand-in nvidia-smi that prints what the real one prints for these queries.
    binDir = await mkdtemp(path.join(os.tmpdir(), 'fake-nvidia-smi-'));
    const script = [
      '#!/bin/sh',
      'case "$1" in',
      `  --query-gpu=*) printf '%s\\n' '0, GPU-aaaa-1111, 40321, 81559, 97, NVIDIA H100 80GB HBM3' ;;`,
      `  --query-compute-apps=*) printf '%s\\n' "GPU-aaaa-1111, $$, 40000, python" ;;`,
      'esac',
    ].join('\n');
    await writeFile(path.join(binDir, 'nvidia-smi'), script);
    await chmod(path.join(binDir, 'nvidia-smi'), 0o755);
  });

  afterAll(async () => {
    process.env.PATH = originalPath;
    await rm(binDir, { recursive: true, force: true });
  });

  it('reports missing nvidia-smi', async () => {
    process.env.PATH = '/nonexistent';
    const result = await probeGpus(new LocalHost('local'));
    process.env.PATH = originalPath;
    expect(result).toMatchObject({ ok: false, reason: 'no_nvidia_smi' });
  });

  it('reads GPUs and process owners', async () => {
    process.env.PATH = `${binDir}:${originalPath}`;
    const result = await probeGpus(new LocalHost('local'));
    process.env.PATH = originalPath;

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.gpus).toHaveLength(1);
    expect(result.gpus[0]?.utilizationPercent).toBe(97);
    expect(result.gpus[0]?.processes).toHaveLength(1);
    // The shell's pid has exited by the time ps runs, so no owner is expected.
    expect(result.gpus[0]?.processes[0]?.processName).toBe('python');
  });

  it('probeLoginSessions runs who', async () => {
    const sessions = await probeLoginSessions(new LocalHost('local'));
    expect(Array.isArray(sessions)).toBe(true);
  });
});
