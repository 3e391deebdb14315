import type { Logger } from 'pino';

import type { Translate } from '../bot/i18n.js';
import type { Config } from '../config/schema.js';
import { isConnectionError } from '../remote/errors.js';
import type { Host, HostProvider } from '../remote/host.js';
import { readRunStatus, signalRun } from '../remote/launcher.js';
import type { Announcer } from './announcer.js';
import type { Clock } from './clock.js';
import { runDirOf } from './run-dir.js';
import {
  isRestartPointError,
  parseCheckpointListing,
  resolveRestartPoint,
  type Checkpoint,
  type RestartFrom,
  type RestartPoint,
  type RestartPointError,
} from './restart-point.js';
import { runJobId, type RunQueue } from './run-queue.js';
import { formatThreadRoot } from './run-reporter.js';
import { chainStageFolders } from './run-stages.js';
import { isActiveStatus } from './run-state.js';
import type { RunStore } from './run-store.js';
import type { RunRecord } from './run-types.js';

/**
 * Resumes an ended run in its own thread as attempt N+1, from its latest checkpoint, a
 * chosen step, or scratch. The attempt number is bumped with a compare-and-set on the
 * run record, and the BullMQ job id is `run-<id>-a<attempt>`, so two clicks, a click
 * racing the restart policy, or a re-delivered job all start one attempt. The launcher's
 * per-attempt lock on the host makes the launch itself exactly-once.
 *
 * A succeeded run is never restarted. Its output folder contains the trainer's `completed`
 * marker, so a new attempt would end in `already_completed` and turn the finished run
 * into a failed one. Training again is a new run (`/train`).
 */

export interface RestartDeps {
  config: Config;
  store: RunStore;
  queue: RunQueue;
  announcer: Pick<Announcer, 'post' | 'updateRoot'>;
  clock: Clock;
  logger: Logger;
  t: Translate;
  /** Lists `checkpoint-N` folders of the run; throws a HostUnreachableError when the VM is down. */
  listCheckpoints(run: RunRecord): Promise<Checkpoint[]>;
}

export interface RestartRequest {
  runId: string;
  from: RestartFrom;
  /** Slack user id, or AUTO_RESTART_ACTOR for the restart policy. */
  actor: string;
  /** The attempt being restarted; a restart of an attempt that is no longer current is dropped. */
  expectedAttempt?: number;
  /** Wait before the new attempt's job runs (the policy's `waitSeconds`). */
  delayMs?: number;
  /** Replaces the default announcement (the restart policy adds its budget and wait). */
  announcement?: (run: RunRecord, fromText: string) => string;
}

export type RestartOutcome =
  | { outcome: 'restarted'; run: RunRecord; point: RestartPoint; fromText: string }
  | { outcome: 'not_found' }
  | { outcome: 'not_ended'; run: RunRecord }
  /** The run succeeded; nothing is restarted. */
  | { outcome: 'succeeded'; run: RunRecord }
  | { outcome: 'superseded'; run: RunRecord }
  | { outcome: 'host_unreachable'; run: RunRecord; error: string }
  | ({ outcome: 'invalid_point'; run: RunRecord } & RestartPointError);

export async function restartRun(deps: RestartDeps, request: RestartRequest): Promise<RestartOutcome> {
  const { store, logger } = deps;
  const run = await store.get(request.runId);
  if (!run) return { outcome: 'not_found' };
  if (isActiveStatus(run.status)) return { outcome: 'not_ended', run };
  if (run.status === 'succeeded') return { outcome: 'succeeded', run };
  const expectedAttempt = request.expectedAttempt ?? run.attempt;
  if (run.attempt !== expectedAttempt) return { outcome: 'superseded', run };

  const point = await choosePoint(deps, run, request.from);
  if ('outcome' in point) return point;
  if (isRestartPointError(point)) return { outcome: 'invalid_point', run, ...point };

  const fromText = describePoint(deps.t, point);
  const nextAttempt = expectedAttempt + 1;
  const startedAt = deps.clock.now().toISOString();
  const resumeFrom = point.kind === 'checkpoint' ? point.path : 'scratch';

  let claimed = false;
  const updated = await store.update(run.id, (current) => {
    claimed = false;
    if (current.attempt !== expectedAttempt || isActiveStatus(current.status) || current.status === 'succeeded') return undefined;
    claimed = true;
    return {
      status: 'restarting',
      attempt: nextAttempt,
      attempts: [
        ...current.attempts,
        { attempt: nextAttempt, startedAt, startedBy: request.actor, resumedFrom: point.kind === 'checkpoint' ? point.path : null },
      ],
      resumeFrom,
      // The new attempt's latest checkpoint is the one it resumes from until it saves its own,
      // so an automatic restart after a restart from scratch does not jump to an older attempt's.
      lastCheckpoint: point.kind === 'checkpoint' ? { step: point.step, path: point.path } : undefined,
      // Progress belongs to the attempt that reported it: until the new one reports a step,
      // the root shows where it resumes, with no ETA, and a cancel promises no checkpoint.
      step: undefined,
      loss: undefined,
      stepRateOrigin: undefined,
      lastStepTime: undefined,
      lastProgress: undefined,
      endedAt: undefined,
      exitCode: undefined,
      failureClass: undefined,
      failureMessage: undefined,
      cancelRequestedBy: undefined,
      unreachableSince: undefined,
      launchedAt: undefined,
    };
  });
  if (!claimed) {
    if (updated.status === 'succeeded') return { outcome: 'succeeded', run: updated };
    return isActiveStatus(updated.status) && updated.attempt > expectedAttempt
      ? { outcome: 'superseded', run: updated }
      : { outcome: 'not_ended', run: updated };
  }

  await queueAttempt(deps, updated, request.delayMs ?? 0);
  const text = request.announcement
    ? request.announcement(updated, fromText)
    : deps.t('restart.announce', { runId: updated.id, attempt: nextAttempt, user: request.actor, from: fromText });
  await deps.announcer.post(`run:${updated.id}:restart:a${nextAttempt}`, { channel: updated.channel, threadTs: updated.threadTs, text });
  showRestartInRoot(deps, updated);

  logger.info({ runId: updated.id, attempt: nextAttempt, actor: request.actor, resumeFrom }, 'run restarted');
  return { outcome: 'restarted', run: updated, point, fromText };
}

/**
 * Shows the new attempt in the thread root at once (where it resumes, no ETA). The
 * worker updates the root again when the job runs, which a delayed automatic restart
 * puts off by its wait. A failed update is logged: the next refresh sends the latest state.
 */
function showRestartInRoot(deps: RestartDeps, run: RunRecord): void {
  if (!run.threadTs) return;
  // Not awaited: chat.update may wait for the process's update budget, and the restart must not.
  void deps.announcer
    .updateRoot({ channel: run.channel, ts: run.threadTs }, formatThreadRoot(run, deps.t))
    .catch((error: unknown) => deps.logger.warn({ err: error, runId: run.id, threadTs: run.threadTs }, 'thread root update after restart failed'));
}

/**
 * Adds the BullMQ job of the run's current attempt. The job id matches `enqueueRun`'s,
 * so calling this again (run recovery, a retried restart) adds nothing.
 */
export async function queueAttempt(deps: Pick<RestartDeps, 'queue'>, run: RunRecord, delayMs = 0): Promise<void> {
  await deps.queue.add(
    `${run.recipe}@${run.vm}`,
    { runId: run.id, attempt: run.attempt },
    { jobId: runJobId(run.id, run.attempt), ...(delayMs > 0 ? { delay: delayMs } : {}) },
  );
}

/** `从第 1200 步的检查点 checkpoint-1200 恢复` or `从头开始`. */
export function describePoint(t: Translate, point: RestartPoint): string {
  return point.kind === 'checkpoint' ? t('restart.fromCheckpoint', { step: point.step }) : t('restart.fromScratch');
}

async function choosePoint(
  deps: RestartDeps,
  run: RunRecord,
  from: RestartFrom,
): Promise<RestartPoint | RestartPointError | { outcome: 'host_unreachable'; run: RunRecord; error: string }> {
  if (from.kind === 'scratch' || run.kind !== 'train') return { kind: 'scratch' };

  // The checkpoint event is written after the folder is saved, so it never names a
  // half-written checkpoint. A folder listing might, if the trainer died mid-save.
  if (from.kind === 'latest' && run.lastCheckpoint) {
    return { kind: 'checkpoint', step: run.lastCheckpoint.step, path: run.lastCheckpoint.path };
  }

  let checkpoints: Checkpoint[];
  try {
    checkpoints = await deps.listCheckpoints(run);
  } catch (error) {
    if (from.kind === 'latest') {
      // Nothing recorded and nothing readable: the trainer's `resume: none` is the honest choice.
      deps.logger.warn({ err: error, runId: run.id }, 'could not list checkpoints; restarting from scratch');
      return { kind: 'scratch' };
    }
    return { outcome: 'host_unreachable', run, error: (error as Error).message };
  }
  return resolveRestartPoint(from, checkpoints);
}

/**
 * Lists `<workdir>/runs/<id>/output/checkpoint-N` on the run's VM.
 * NOTE: chained recipes save under `output/<index>-<stage>/`, which this does not list,
 * so `from=<step>` finds nothing for them; `from=latest` still works from the event.
 */
export function checkpointLister(config: Config, hosts: HostProvider): (run: RunRecord) => Promise<Checkpoint[]> {
  return async (run) => {
    const vm = config.vms[run.vm];
    if (!vm) throw new Error(`run #${run.id} names VM "${run.vm}", which is not in the config`);

    let host;
    try {
      host = await hosts.get(run.vm);
      const outputDir = await host.resolvePath(`${runDirOf(vm, run.id)}/output`);
      const result = await host.exec(['ls', '-1', outputDir]);
      // An absent output folder (nothing saved yet) lists as no checkpoints.
      if (result.code !== 0) return [];
      const names = result.stdout.split('\n');
      // A chained run keeps checkpoints per stage: those of the latest stage that saved any.
      for (const folder of chainStageFolders(names)) {
        const stageDir = `${outputDir}/${folder}`;
        const listing = await host.exec(['ls', '-1', stageDir]);
        const checkpoints = listing.code === 0 ? parseCheckpointListing(stageDir, listing.stdout.split('\n')) : [];
        if (checkpoints.length > 0) return checkpoints;
      }
      return parseCheckpointListing(outputDir, names);
    } catch (error) {
      if (isConnectionError(error)) hosts.invalidate(run.vm);
      throw error;
    }
  };
}

/** Time a still-running previous attempt gets to checkpoint and exit after SIGTERM before SIGKILL. */
const STOP_PREVIOUS_TIMEOUT_MS = 120_000;

/**
 * Readies the run directory for a restarted attempt just before its launch, and returns
 * the byte offset of events.jsonl where the new attempt's events will start, or
 * undefined when that attempt was already launched (its stored offset is kept).
 *
 * A lost run's trainer may still be running when its host comes back: it gets SIGTERM
 * (and SIGKILL if it does not exit), because two trainers must never write one output
 * folder. The returned offset skips whatever the old attempt wrote after the bot lost
 * sight of it, including its `end` event, which must not end the new attempt.
 * NOTE: two workers preparing the same attempt at once (a stalled job re-delivered while
 * the first still runs) could read the size after the new trainer's first event.
 */
export async function prepareRestartedAttempt(
  host: Host,
  runDir: string,
  attempt: number,
  options: { clock: Clock; logger: Logger; stopTimeoutMs?: number },
): Promise<number | undefined> {
  const { clock, logger } = options;
  let status = await readRunStatus(host, runDir);
  if (status.attempt >= attempt) return undefined;

  if (status.alive) {
    logger.warn({ previousAttempt: status.attempt, pid: status.pid }, 'previous attempt still running; stopping it before the restart');
    await signalRun(host, runDir, 'TERM');
    const deadline = clock.now().getTime() + (options.stopTimeoutMs ?? STOP_PREVIOUS_TIMEOUT_MS);
    while (status.alive && clock.now().getTime() < deadline) {
      await clock.sleep(1000);
      status = await readRunStatus(host, runDir);
    }
    if (status.alive) {
      logger.warn({ previousAttempt: status.attempt, pid: status.pid }, 'previous attempt ignored SIGTERM; sending SIGKILL');
      await signalRun(host, runDir, 'KILL');
    }
  }

  const { size } = await host.readFileRange(`${runDir}/events.jsonl`, 0, 0);
  return size;
}
