import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findPythonRoot, hashCodeTree, syncCode } from '../../src/remote/code-sync.js';
import type { Host } from '../../src/remote/host.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { LocalHost } from '../../src/remote/local-host.js';
import { startSshd, vmConfigFor, type TestSshd } from '../support/sshd.js';
import { STAND_IN_TRAINER } from './run-helpers.js';

describe('hashCodeTree', () => {
  let tree: string;

  beforeAll(async () => {
    tree = await mkdtemp(path.join(os.tmpdir(), 'trainops-tree-'));
    await cp(STAND_IN_TRAINER, tree, { recursive: true });
  });

  afterAll(async () => {
    await rm(tree, { recursive: true, force: true });
  });

  it('ignores caches and top-level tests', async () => {
    const before = await hashCodeTree(tree);
    await mkdir(path.join(tree, 'trainops_trainer', '__pycache__'), { recursive: true });
    await writeFile(path.join(tree, 'trainops_trainer', '__pycache__', 'x.cpython-311.pyc'), 'bytecode');
    await mkdir(path.join(tree, 'tests'), { recursive: true });
    await writeFile(path.join(tree, 'tests', 'test_x.py'), 'def test(): pass\n');

    const after = await hashCodeTree(tree);
    expect(after.hash).toBe(before.hash);
    expect(after.files).toEqual(['trainops_trainer/__init__.py', 'trainops_trainer/__main__.py']);
  });

  it('changes when a file changes', async () => {
    const before = await hashCodeTree(tree);
    await writeFile(path.join(tree, 'trainops_trainer', 'extra.py'), 'X = 1\n');
    expect((await hashCodeTree(tree)).hash).not.toBe(before.hash);
  });

  it('finds the repository python folder', () => {
    expect(findPythonRoot()).toMatch(/\/python$/);
  });
});

describe('syncCode', () => {
  let sshd: TestSshd;
  let pool: HostPool;

  beforeAll(async () => {
    sshd = await startSshd();
    pool = new HostPool({ gpu1: vmConfigFor(sshd) }, pino({ level: 'silent' }));
  });

  afterAll(async () => {
    await pool?.closeAll();
    await sshd?.stop();
  });

  const hosts: ReadonlyArray<[string, () => Promise<Host>]> = [
    ['SshHost', () => pool.get('gpu1')],
    ['LocalHost', async () => new LocalHost('local')],
  ];

  it.each(hosts)('%s uploads once per version', async (_name, getHost) => {
    const host = await getHost();
    const workdir = await mkdtemp(path.join(sshd.workdir, 'sync-'));

    const first = await syncCode(host, { localDir: STAND_IN_TRAINER, workdir });
    expect(first.uploaded).toBe(true);
    expect(first.codeDir).toBe(path.join(workdir, 'code', first.hash));
    const marker = path.join(first.codeDir, '.complete');
    const markerTime = (await stat(marker)).mtimeMs;
    expect(await readFile(path.join(first.codeDir, 'trainops_trainer', '__main__.py'), 'utf8')).toContain('Stand-in trainer');

    const second = await syncCode(host, { localDir: STAND_IN_TRAINER, workdir });
    expect(second.uploaded).toBe(false);
    expect(second.codeDir).toBe(first.codeDir);
    expect((await stat(marker)).mtimeMs).toBe(markerTime);
  });

  it('concurrent syncs leave one complete copy', async () => {
    // One connection each, as from separate worker processes, so the uploads race on the rename.
    const pools = [1, 2, 3].map(() => new HostPool({ gpu1: vmConfigFor(sshd) }, pino({ level: 'silent' })));
    try {
      const hostsOfWorkers = await Promise.all(pools.map((workerPool) => workerPool.get('gpu1')));
      const workdir = await mkdtemp(path.join(sshd.workdir, 'race-'));
      const results = await Promise.all(hostsOfWorkers.map((host) => syncCode(host, { localDir: STAND_IN_TRAINER, workdir })));

      expect(new Set(results.map((result) => result.codeDir)).size).toBe(1);
      const entries = await import('node:fs/promises').then((fs) => fs.readdir(path.join(workdir, 'code')));
      expect(entries).toEqual([results[0]?.hash]);
    } finally {
      await Promise.all(pools.map((workerPool) => workerPool.closeAll()));
    }
  });

  it('concurrent syncs on one host upload once', async () => {
    const host = await pool.get('gpu1');
    const workdir = await mkdtemp(path.join(sshd.workdir, 'shared-'));
    const results = await Promise.all([1, 2, 3, 4].map(() => syncCode(host, { localDir: STAND_IN_TRAINER, workdir })));

    expect(results.filter((result) => result.uploaded)).toHaveLength(1);
    expect(new Set(results.map((result) => result.codeDir)).size).toBe(1);
  });
});
