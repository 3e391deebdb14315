/**
 * The servers every bot benchmark uses: a real redis-server, the fake Slack Web API, and
 * real OpenSSH sshd "VMs", all on 127.0.0.1 (the test support servers), plus a scratch
 * folder. A run on a VM is the stand-in trainer from test/fixtures: it writes a start
 * event, one step event every `step_delay_seconds`, and an end event, without torch.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Redis } from 'ioredis';

import type { ConfigInput } from '../src/config/schema.js';
import { systemClock } from '../src/jobs/clock.js';
import { RunStore } from '../src/jobs/run-store.js';
import type { RunRecord } from '../src/jobs/run-types.js';
import { startFakeSlack, type FakeSlack } from '../test/support/fake-slack.js';
import { getFreePort } from '../test/support/free-port.js';
import { startRedis, uniquePrefix, type TestRedis } from '../test/support/redis.js';
import { startSshd, vmConfigFor, type TestSshd } from '../test/support/sshd.js';
import { REPO } from './bot-process.js';

export const MEMBER = 'U0BENCH001';
const STAND_IN_MAIN = path.join(REPO, 'test/fixtures/stand-in-trainer/trainops_trainer/__main__.py');

export interface Rig {
  dir: string;
  redis: TestRedis;
  slack: FakeSlack;
  sshds: TestSshd[];
  prefix: string;
  /** Reads run records the bot stores. */
  store: RunStore;
  /** Executable the VMs use as their Python: it runs the stand-in trainer. */
  standInPython: string;
  httpPort: number;
  stop(): Promise<void>;
}

export async function startRig(options: { vms: number }): Promise<Rig> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trainops-bench-'));
  const started: Array<() => Promise<void>> = [async () => rm(dir, { recursive: true, force: true })];
  const stop = async (): Promise<void> => {
    for (const stopOne of started.reverse()) await stopOne().catch((error: unknown) => console.error('bench cleanup failed:', error));
  };

  try {
    const redis = await startRedis();
    started.push(() => redis.stop());
    const slack = await startFakeSlack();
    started.push(() => slack.stop());
    const sshds = await Promise.all(Array.from({ length: options.vms }, () => startSshd()));
    for (const sshd of sshds) started.push(() => sshd.stop());

    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    started.push(async () => connection.disconnect());
    const prefix = uniquePrefix('bench');

    const standInPython = path.join(dir, 'stand-in-python');
    // The launcher runs `<python> -m trainops_trainer train --config run.json`; `-S` skips site imports for a fast start.
    const interpreter = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    await writeFile(standInPython, `#!/bin/sh\nif [ "$1" = "-m" ]; then shift 2; fi\nexec ${interpreter} -S '${STAND_IN_MAIN}' "$@"\n`);
    await chmod(standInPython, 0o755);

    return {
      dir,
      redis,
      slack,
      sshds,
      prefix,
      store: new RunStore(connection, prefix, systemClock),
      standInPython,
      httpPort: await getFreePort(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface BenchConfigOptions {
  recipe: string;
  hyperparameters: Record<string, number>;
  channel: string;
  /** VM names in `rig.sshds` order; default vm1, vm2, ... */
  vmNames?: string[];
}

/** Builds the bot's config: HTTP receiver on the rig's port, one VM per sshd, one train recipe. */
export function benchConfig(rig: Rig, options: BenchConfigOptions): ConfigInput {
  const vms = Object.fromEntries(
    rig.sshds.map((sshd, index) => [options.vmNames?.[index] ?? `vm${index + 1}`, vmConfigFor(sshd, { python: rig.standInPython })]),
  );
  return {
    locale: 'zh-CN',
    redisPrefix: rig.prefix,
    slack: { mode: 'http', port: rig.httpPort, channel: options.channel },
    team: { members: [{ id: MEMBER, name: 'Bench', roles: ['admin'] }] },
    vms: Object.keys(vms).length > 0 ? vms : { local: { transport: 'local', python: rig.standInPython, workdir: path.join(rig.dir, 'local-vm') } },
    recipes: {
      [options.recipe]: {
        kind: 'train',
        model: 'stand-in',
        dataset: 'none',
        hyperparameters: { save_steps: 0, ...options.hyperparameters },
        // A benchmark run that fails should show as failed, not be restarted.
        restart: { retryOn: [], maxAutoRestarts: 0, waitSeconds: 0 },
      },
    },
  };
}

/** Polls until `done(runs)` holds for the newest `count` runs, or `timeoutMs` passes; returns the runs either way. */
export async function waitForRuns(
  rig: Rig,
  count: number,
  done: (runs: RunRecord[]) => boolean,
  timeoutMs: number,
): Promise<{ runs: RunRecord[]; met: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await rig.store.listRecent(count);
    if (runs.length >= count && done(runs)) return { runs, met: true };
    if (Date.now() > deadline) return { runs, met: false };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export interface WrittenEvent {
  type: string;
  step?: number;
  time: string;
}

/** Reads a run's events.jsonl on its sshd VM, with the byte length of the file. */
export async function readRunEvents(sshd: TestSshd, runId: string): Promise<{ events: WrittenEvent[]; lines: string[]; bytes: number }> {
  const text = await readFile(path.join(sshd.workdir, 'runs', runId, 'events.jsonl'), 'utf8').catch(() => '');
  const lines = text.split('\n').filter(Boolean);
  return { events: lines.map((line) => JSON.parse(line) as WrittenEvent), lines, bytes: Buffer.byteLength(text) };
}
