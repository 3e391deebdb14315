/**
 * Follows a launched run with the event follower of src/remote. Each batch of events
 * is applied to the run and stored in one Redis write with the new byte offset and the
 * replies it queues. The replies are posted in the background (`OutboxPoster`), so a
 * reply that waits for its channel's pace or a Slack 429 never holds up reading events.
 * Following returns only once every queued reply is posted. Following ends when the process
 * exits (or vanishes), when the host has been unreachable past `lostAfterSeconds`, or
 * as soon as the host is unreachable and Azure reports its VM deallocated or stopped.
 *
 * The offset lives in Redis, so after a dropped connection or a replaced worker,
 * following resumes exactly where the last stored batch ended.
 */
import type { Logger } from 'pino';

import { followRunEvents, type FollowResult as EventsFollowResult } from '../remote/event-follower.js';
import type { HostProvider } from '../remote/host.js';
import { parseEventChunk, type RunEvent } from '../remote/run-events.js';
import type { PowerState, VmControl } from '../remote/vm-control.js';
import { createVmDownCheck } from '../remote/vm-down-check.js';
import type { Clock } from './clock.js';
import type { ChartPoint } from './loss-chart.js';
import { StageStepOffsets } from './run-stages.js';
import { applyRunEvents, type EndEvent, type ProgressPolicy, type TrainerEvent } from './run-progress.js';
import type { RunStore } from './run-store.js';
import type { RunThread } from './run-thread.js';
import type { RunRecord } from './run-types.js';

export interface FollowDeps {
  store: RunStore;
  thread: RunThread;
  hosts: HostProvider;
  clock: Clock;
  logger: Logger;
  progress: ProgressPolicy;
  pollMs: number;
  lostAfterSeconds: number;
  /** When given, an unreachable host whose VM Azure reports down ends following at once. */
  vmControl?: VmControl;
}

export interface FollowOutcome {
  run: RunRecord;
  /** Reason following ended, as the event follower's `FollowResult.reason` gives it. */
  reason: EventsFollowResult['reason'];
  exitCode: number | null;
  end?: EndEvent;
  /** Set with reason `unreachable` when Azure reported the VM down (eviction, deallocation). */
  vmPowerState?: PowerState;
}

/** Thrown when another process moved the run's offset: it follows the run now. */
export class FollowConflictError extends Error {
  constructor(readonly runId: string) {
    super(`run #${runId}: another worker advanced the event offset; this one stops following`);
    this.name = 'FollowConflictError';
  }
}

/** Bytes read per request when reading the whole file for the chart. */
const CHUNK_BYTES = 1024 * 1024;

export async function followRun(deps: FollowDeps, initial: RunRecord, runDir: string, signal: AbortSignal): Promise<FollowOutcome> {
  const { store, thread, logger } = deps;
  let run = initial;
  const poster = new OutboxPoster(thread, store, run.id);
  // Replies a previous worker stored but did not post.
  poster.request();
  let end: EndEvent | undefined;
  // A deallocated VM does not come back by waiting `lostAfterSeconds`, so its run ends at once.
  const vmDown = deps.vmControl ? createVmDownCheck(deps.vmControl, run.vm, { logger }) : undefined;
  let vmPowerState: PowerState | undefined;
  const stopFollowing = new AbortController();
  const onOuterAbort = (): void => stopFollowing.abort();
  signal.addEventListener('abort', onOuterAbort, { once: true });

  let result: EventsFollowResult;
  try {
    result = await followRunEvents({
      hosts: deps.hosts,
      vmName: run.vm,
      runDir,
      fromOffset: run.eventOffset,
      pollMs: deps.pollMs,
      signal: stopFollowing.signal,
      logger,
      giveUpAfterMs: deps.lostAfterSeconds * 1000,
      onEvents: async (events, newOffset) => {
        poster.throwIfFailed();
        const startOffset = run.eventOffset;
        const trainerEvents = events.map(toTrainerEvent);
        run = await store.update(run.id, (stored) => {
          if (stored.eventOffset !== startOffset) throw new FollowConflictError(run.id);
          const applied = applyRunEvents(stored, trainerEvents, deps.progress);
          end = applied.end ?? end;
          for (const type of applied.unknownTypes) logger.warn({ type }, 'skipped event of unknown type');
          return { ...applied.patch, eventOffset: newOffset, outbox: [...(stored.outbox ?? []), ...applied.replies] };
        });
        poster.request();
        void thread.refreshRoot(run).catch((error: unknown) => logger.warn({ err: error }, 'root update failed'));
      },
      onUnreachable: async () => {
        vmPowerState = await vmDown?.();
        if (vmPowerState) {
          await thread
            .postReply(run, `run:${run.id}:vm-down:a${run.attempt}`, thread.translate('vm.run.deallocated_lost', { vm: run.vm, id: run.id, power: vmPowerState }))
            .catch((error: unknown) => logger.warn({ err: error }, 'could not post the VM-down notice'));
          stopFollowing.abort();
          return;
        }
        if (run.unreachableSince) return;
        const since = deps.clock.now().toISOString();
        run = await store.update(run.id, (stored) => (stored.unreachableSince ? undefined : { unreachableSince: since }));
        await thread
          .postReply(run, `run:${run.id}:unreachable:a${run.attempt}:${run.unreachableSince ?? since}`, thread.translate('runs.vm.unreachable', { vm: run.vm }))
          .catch((error: unknown) => logger.warn({ err: error }, 'could not post the unreachable notice'));
      },
      onReconnected: async () => {
        const since = run.unreachableSince;
        if (!since) return;
        run = await store.update(run.id, () => ({ unreachableSince: undefined }));
        logger.info({ unreachableSince: since }, 'host reachable again; following resumes at the stored offset');
        await thread.postReply(run, `run:${run.id}:reconnected:a${run.attempt}:${since}`, thread.translate('runs.vm.reconnected', { vm: run.vm }));
      },
    });
  } catch (error) {
    await poster.settle();
    throw error;
  }

  signal.removeEventListener('abort', onOuterAbort);
  // A worker that is closing leaves the rest of the outbox to the worker that takes the job over.
  if (signal.aborted) await poster.settle();
  else await poster.finish();

  const final = await store.require(run.id);
  if (vmPowerState && !signal.aborted) return { run: final, reason: 'unreachable', exitCode: null, end, vmPowerState };
  return { run: final, reason: result.reason, exitCode: result.exitCode, end };
}

/**
 * Posts a run's outbox in the background, one flush at a time. A request that arrives
 * during a flush starts another flush after it. The first error a flush throws is kept
 * and thrown by the next `throwIfFailed` or `finish`, so it ends the follow as it would
 * if the flush had run inline.
 */
class OutboxPoster {
  private flushing: Promise<void> | undefined;
  private requestedAgain = false;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly thread: RunThread,
    private readonly store: RunStore,
    private readonly runId: string,
  ) {}

  request(): void {
    if (this.failure) return;
    if (this.flushing) {
      this.requestedAgain = true;
      return;
    }
    this.flushing = this.flushUntilDone().finally(() => {
      this.flushing = undefined;
    });
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Waits for the flush in progress, if any, without throwing its error. */
  async settle(): Promise<void> {
    await this.flushing;
  }

  /** Waits for the flush in progress, then posts what is still queued; throws the first flush error. */
  async finish(): Promise<void> {
    await this.settle();
    this.throwIfFailed();
    await this.thread.flushOutbox(await this.store.require(this.runId));
  }

  private async flushUntilDone(): Promise<void> {
    do {
      this.requestedAgain = false;
      try {
        await this.thread.flushOutbox(await this.store.require(this.runId));
      } catch (error) {
        this.failure = { error };
        return;
      }
    } while (this.requestedAgain);
  }
}

/** Reads every step event of events.jsonl for the chart; returns [] when the host cannot be read. */
export async function readChartPoints(hosts: HostProvider, vm: string, runDir: string, logger: Logger): Promise<ChartPoint[]> {
  const points: ChartPoint[] = [];
  // Each stage of a chain counts its steps from 1, so later stages are drawn after the earlier ones.
  const stageOffsets = new StageStepOffsets();
  try {
    const host = await hosts.get(vm);
    let offset = 0;
    for (;;) {
      const chunk = await host.readFileRange(`${runDir}/events.jsonl`, offset, 4 * CHUNK_BYTES);
      const parsed = parseEventChunk(chunk.data, offset);
      for (const event of parsed.events) {
        if (event.type === 'start') stageOffsets.start(event.stage_index);
        if (event.type !== 'step') continue;
        const step = stageOffsets.step(event.step);
        points.push({ step, loss: event.loss ?? undefined, learningRate: event.learning_rate ?? undefined });
      }
      if (parsed.newOffset === offset) break;
      offset = parsed.newOffset;
    }
  } catch (error) {
    logger.warn({ err: error }, 'could not read events.jsonl for the loss chart');
  }
  // A resumed attempt repeats steps after its checkpoint: keep the latest value per step.
  const byStep = new Map(points.map((point) => [point.step, point]));
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

function toTrainerEvent(event: RunEvent): TrainerEvent {
  // Prefixed so that a known type from a later protocol version is not read as version 1.
  if (event.type === 'unknown') return { type: `unknown:v${String(event.version)}:${String(event.originalType)}` };
  return event as unknown as TrainerEvent;
}
