/**
 * Follows a launched run: reads events.jsonl from the run's stored byte offset, applies
 * each batch to the run and stores the new offset in the same Redis write, then posts
 * the replies the batch queued. Returns when the trainer writes `end`, when the process
 * exits without one, or when the host has been unreachable past `lostAfterSeconds`.
 *
 * A dropped connection is retried with a fresh one from the pool; since the offset
 * lives in Redis, following resumes exactly where the last stored batch ended.
 */
import type { Logger } from 'pino';

import type { HostProvider } from '../remote/host.js';
import { parseEventChunk } from '../remote/run-events.js';
import type { Clock } from './clock.js';
import type { ChartPoint } from './loss-chart.js';
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
}

export type FollowResult =
  | { kind: 'end'; run: RunRecord; end: EndEvent }
  | { kind: 'exited'; run: RunRecord; exitCode: number }
  | { kind: 'lost'; run: RunRecord }
  | { kind: 'aborted'; run: RunRecord };

/** Bytes read per poll; a larger backlog is read over several polls. */
const CHUNK_BYTES = 256 * 1024;

export async function followRun(deps: FollowDeps, initial: RunRecord, runDir: string, signal?: AbortSignal): Promise<FollowResult> {
  const { store, thread, hosts, clock, logger } = deps;
  const eventsPath = `${runDir}/events.jsonl`;
  let run = await thread.flushOutbox(initial);

  while (!signal?.aborted) {
    let host;
    let chunk;
    try {
      host = await hosts.get(run.vm);
      chunk = await host.readFileRange(eventsPath, run.eventOffset, CHUNK_BYTES);
    } catch (error) {
      hosts.invalidate(run.vm);
      run = await markUnreachable(deps, run, error);
      if (isLost(deps, run)) return { kind: 'lost', run };
      await clock.sleep(deps.pollMs);
      continue;
    }

    if (run.unreachableSince) {
      const since = run.unreachableSince;
      run = await store.update(run.id, () => ({ unreachableSince: undefined }));
      logger.info({ unreachableSince: since }, 'host reachable again; following resumes at the stored offset');
      await thread.postReply(run, `run:${run.id}:reconnected:a${run.attempt}:${since}`, thread.translate('runs.vm.reconnected', { vm: run.vm }));
    }

    const parsed = parseEventChunk(chunk.data, run.eventOffset);
    for (const line of parsed.malformed) logger.warn({ offset: line.offset, reason: line.reason, excerpt: line.excerpt }, 'skipped malformed event line');

    if (parsed.newOffset > run.eventOffset) {
      const startOffset = run.eventOffset;
      const events = parsed.events.map(toTrainerEvent);
      let end: EndEvent | undefined;
      run = await store.update(run.id, (stored) => {
        // Another process advanced the offset (a stalled job that came back): take its state.
        if (stored.eventOffset !== startOffset) return undefined;
        const applied = applyRunEvents(stored, events, deps.progress);
        end = applied.end;
        for (const type of applied.unknownTypes) logger.warn({ type }, 'skipped event of unknown type');
        return { ...applied.patch, eventOffset: parsed.newOffset, outbox: [...(stored.outbox ?? []), ...applied.replies] };
      });
      run = await thread.flushOutbox(run);
      void thread.refreshRoot(run).catch((error: unknown) => logger.warn({ err: error }, 'root update failed'));
      if (end) return { kind: 'end', run, end };
      // More may be waiting when a whole chunk was read.
      if (chunk.data.length === CHUNK_BYTES) continue;
    } else {
      const exitCode = await readExitCode(deps, run, runDir);
      if (exitCode !== undefined) {
        // The trainer may have written its last lines between the two reads.
        const tail = await host.readFileRange(eventsPath, run.eventOffset, CHUNK_BYTES).catch(() => undefined);
        if (!tail || tail.data.indexOf(0x0a) === -1) return { kind: 'exited', run, exitCode };
        continue;
      }
    }
    await clock.sleep(deps.pollMs);
  }
  return { kind: 'aborted', run };
}

async function markUnreachable(deps: FollowDeps, run: RunRecord, error: unknown): Promise<RunRecord> {
  if (run.unreachableSince) {
    deps.logger.debug({ err: error }, 'host still unreachable');
    return run;
  }
  const since = deps.clock.now().toISOString();
  deps.logger.warn({ err: error }, 'host unreachable; retrying');
  const updated = await deps.store.update(run.id, (stored) => (stored.unreachableSince ? undefined : { unreachableSince: since }));
  await deps.thread
    .postReply(updated, `run:${run.id}:unreachable:a${run.attempt}:${updated.unreachableSince ?? since}`, deps.thread.translate('runs.vm.unreachable', { vm: run.vm }))
    .catch((postError: unknown) => deps.logger.warn({ err: postError }, 'could not post the unreachable notice'));
  return updated;
}

function isLost(deps: FollowDeps, run: RunRecord): boolean {
  if (!run.unreachableSince) return false;
  return deps.clock.now().getTime() - new Date(run.unreachableSince).getTime() > deps.lostAfterSeconds * 1000;
}

async function readExitCode(deps: FollowDeps, run: RunRecord, runDir: string): Promise<number | undefined> {
  try {
    const host = await deps.hosts.get(run.vm);
    const file = await host.readFileRange(`${runDir}/exit_code`, 0, 64);
    if (!file.exists) return undefined;
    const code = Number(file.data.toString('utf8').trim());
    return Number.isInteger(code) ? code : undefined;
  } catch {
    // The next events read finds the host unreachable and handles it.
    return undefined;
  }
}

/** Reads every step event of events.jsonl for the chart; returns [] when the host cannot be read. */
export async function readChartPoints(hosts: HostProvider, vm: string, runDir: string, logger: Logger): Promise<ChartPoint[]> {
  const points: ChartPoint[] = [];
  try {
    const host = await hosts.get(vm);
    let offset = 0;
    for (;;) {
      const chunk = await host.readFileRange(`${runDir}/events.jsonl`, offset, 4 * CHUNK_BYTES);
      const parsed = parseEventChunk(chunk.data, offset);
      for (const event of parsed.events) {
        if (event.type !== 'step') continue;
        points.push({ step: event.step, loss: event.loss ?? undefined, learningRate: event.learning_rate ?? undefined });
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

function toTrainerEvent(event: ReturnType<typeof parseEventChunk>['events'][number]): TrainerEvent {
  // Prefixed so that a known type from a later protocol version is not read as version 1.
  if (event.type === 'unknown') return { type: `unknown:v${String(event.version)}:${String(event.originalType)}` };
  return event as unknown as TrainerEvent;
}
