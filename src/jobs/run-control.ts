/**
 * Run actions people start from Slack: cancel a run and read its log (restarts live in
 * run-restart.ts). Handlers call these after their own permission checks, so this
 * module only acts.
 */
import type { Logger } from 'pino';

import type { Config } from '../config/schema.js';
import type { HostProvider } from '../remote/host.js';
import { signalRun } from '../remote/launcher.js';
import type { Clock } from './clock.js';
import { runDirOf } from './run-dir.js';
import { runJobId, type RunQueue } from './run-queue.js';
import { cancelRequestedKey } from './run-reporter.js';
import { isFinalStatus } from './run-state.js';
import type { RunStore } from './run-store.js';
import type { RunThread } from './run-thread.js';
import type { RunRecord } from './run-types.js';

export interface RunControlDeps {
  config: Pick<Config, 'vms'>;
  store: RunStore;
  queue: RunQueue;
  thread: RunThread;
  hosts: HostProvider;
  clock: Clock;
  logger: Logger;
}

export type CancelOutcome =
  /** The trainer got SIGTERM; it checkpoints, writes `end`, and the worker reports 已取消. */
  | { kind: 'signalled'; run: RunRecord }
  /** Nothing was launched yet: the run is cancelled now, or as soon as its worker checks. */
  | { kind: 'cancelled_before_launch'; run: RunRecord }
  /** The trainer had already exited (exit_code written); the worker reports its own outcome, not a cancellation. */
  | { kind: 'already_ended'; run: RunRecord }
  | { kind: 'not_active'; run: RunRecord };

export interface RunLog {
  /** The last lines of train.log, at most `MAX_LOG_CHARS` characters. */
  text: string;
  exists: boolean;
  truncated: boolean;
}

/** Lines `/logs` may ask for. */
export const MAX_LOG_LINES = 200;
/** Characters of log returned: a Slack message block holds 3,000, with room for the fence. */
export const MAX_LOG_CHARS = 2900;

export class RunControl {
  constructor(private readonly deps: RunControlDeps) {}

  /** Asks the run to stop: SIGTERM to its process group, and `cancelled` as its final status. */
  async cancelRun(runId: string, byUser: string): Promise<CancelOutcome> {
    const { store, thread, logger } = this.deps;
    let run = await store.require(runId);
    if (isFinalStatus(run.status)) return { kind: 'not_active', run };

    const requestedEarlier = run.cancelRequestedBy !== undefined;
    run = await store.update(runId, (stored) => (stored.cancelRequestedBy ? undefined : { cancelRequestedBy: byUser }));
    logger.info({ runId, byUser, status: run.status }, 'cancel requested');

    if (run.status === 'queued') {
      // No worker has taken the job yet, so end the run here and drop the job.
      await this.deps.queue.remove(runJobId(run.id, run.attempt)).catch(() => 0);
      run = await store.update(runId, (stored) =>
        stored.status === 'queued' ? { status: 'cancelled', endedAt: this.deps.clock.now().toISOString(), failureClass: 'cancelled' } : undefined,
      );
      if (run.status === 'cancelled') {
        await thread.postOutcome(run, []);
        return { kind: 'cancelled_before_launch', run };
      }
    }
    if (!run.launchedAt) return { kind: 'cancelled_before_launch', run };

    const vm = this.requireVm(run);
    const host = await this.deps.hosts.get(run.vm);
    const outcome = await signalRun(host, runDirOf(vm, run.id), 'TERM');
    logger.info({ runId, outcome }, 'cancel signal sent');
    if (outcome === 'ended') {
      // The trainer exited before the signal, so its own end (often success) stands and
      // this request must not turn it into a cancellation.
      if (!requestedEarlier) run = await store.update(runId, (stored) => (stored.cancelRequestedBy === byUser ? { cancelRequestedBy: undefined } : undefined));
      return { kind: 'already_ended', run };
    }
    await thread.postReply(run, `run:${run.id}:cancel:a${run.attempt}`, thread.translate(cancelRequestedKey(run), { user: byUser }));
    // TODO: escalate to KILL when the trainer has not ended a few minutes after TERM.
    return { kind: 'signalled', run };
  }

  /** Returns the last `lines` lines of the run's train.log (capped at MAX_LOG_LINES and MAX_LOG_CHARS). */
  async readRunLog(runId: string, lines = 40): Promise<RunLog> {
    const run = await this.deps.store.require(runId);
    const vm = this.requireVm(run);
    const host = await this.deps.hosts.get(run.vm);
    const count = Math.max(1, Math.min(MAX_LOG_LINES, Math.floor(lines)));
    const logPath = await host.resolvePath(`${runDirOf(vm, run.id)}/train.log`);

    const result = await host.exec(['tail', '-n', String(count), '--', logPath], { timeoutMs: 20_000 });
    if (result.code !== 0) return { text: '', exists: false, truncated: false };
    const truncated = result.stdout.length > MAX_LOG_CHARS;
    // Keep the end: the latest lines matter most.
    return { text: truncated ? result.stdout.slice(-MAX_LOG_CHARS) : result.stdout, exists: true, truncated };
  }

  private requireVm(run: RunRecord): Config['vms'][string] {
    const vm = this.deps.config.vms[run.vm];
    if (!vm) throw new Error(`run #${run.id} names VM "${run.vm}", which is not in the config`);
    return vm;
  }
}
