/**
 * Helpers shared by the launcher and follower tests: the stand-in trainer's location
 * and polling until a run directory shows a condition.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Host } from '../../src/remote/host.js';
import { readRunStatus, type RemoteRunState } from '../../src/remote/launcher.js';

/** Folder with a stand-in `trainops_trainer` package that writes events without torch. */
export const STAND_IN_TRAINER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'stand-in-trainer');

/** Polls every 100 ms until `check` returns a value other than undefined, or throws after timeoutMs. */
export async function waitFor<T>(description: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the current attempt has written exit_code, and returns the run state. */
export async function waitForExit(host: Host, runDir: string): Promise<RemoteRunState> {
  return waitFor(`exit_code in ${runDir}`, async () => {
    const state = await readRunStatus(host, runDir);
    return state.exitCode === null ? undefined : state;
  });
}

export function runJsonFor(runDir: string, runId: string, options: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    run_id: runId,
    model: 'tiny-random-phi3',
    dataset: 'unused',
    output_dir: path.posix.join(runDir, 'output'),
    events_path: path.posix.join(runDir, 'events.jsonl'),
    resume: 'auto',
    max_steps: 3,
    ...options,
  };
}
