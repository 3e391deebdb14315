/**
 * Applies a batch of trainer events (docs/protocol.md, version 1) to a run. This pure
 * function returns the patch that is written back in one Redis write with the new byte
 * offset, and the thread replies those events call for.
 *
 * Throttling uses the events' own `time`, not the worker's clock, so a re-delivered job
 * that applies the same events again decides exactly the same replies.
 */
import { readDataWarning } from './run-data-warning.js';
import { recordStageEvent, stageKeyPart } from './run-stages.js';
import type { OutboxItem, RunRecord } from './run-types.js';

/** One parsed line of events.jsonl; fields beyond `type` are checked where read. */
export interface TrainerEvent {
  type: string;
  time?: string;
  [field: string]: unknown;
}

export interface EndEvent {
  status: 'succeeded' | 'failed';
  step?: number;
  outputPath?: string;
  error?: { type: string; message: string };
}

export interface ProgressPolicy {
  /** Minimum seconds of trainer time between progress replies (`slack.progressEverySeconds`). */
  everySeconds: number;
  /** A reply is also due after this many steps (`slack.progressEverySteps`). */
  everySteps?: number;
}

export interface AppliedEvents {
  patch: Partial<RunRecord>;
  /** Replies to append to the run's outbox, in event order. */
  replies: OutboxItem[];
  end?: EndEvent;
  /** Event types this reader does not know, to log and skip. */
  unknownTypes: string[];
}

const KNOWN_TYPES = new Set(['start', 'step', 'eval', 'checkpoint', 'end']);

export function applyRunEvents(run: RunRecord, events: readonly TrainerEvent[], policy: ProgressPolicy): AppliedEvents {
  const patch: Partial<RunRecord> = {};
  const replies: OutboxItem[] = [];
  const unknownTypes: string[] = [];
  let end: EndEvent | undefined;
  let lastProgress = run.lastProgress;
  let stepRateOrigin = run.stepRateOrigin;
  const view = (): RunRecord => ({ ...run, ...patch });

  for (const event of events) {
    if (!KNOWN_TYPES.has(event.type)) {
      unknownTypes.push(event.type);
      continue;
    }
    if (event.type === 'start' || event.type === 'step') {
      const stages = recordStageEvent(view().stages, event);
      if (stages) patch.stages = stages;
    }

    if (event.type === 'start') {
      setNumber(patch, 'maxSteps', event.max_steps);
      if (typeof event.stage === 'string') patch.stage = event.stage;
      setNumber(patch, 'stageIndex', event.stage_index);
      setNumber(patch, 'stageCount', event.stage_count);
      // Keyed by attempt and stage, so a start event applied again posts no second warning.
      const warning = readDataWarning(event, `run:${run.id}:data:a${run.attempt}${stageKeyPart(view())}`);
      if (warning) replies.push(warning);
      // Each start (a new attempt or the next stage) measures its own step rate and
      // reports its own steps, which may repeat or restart the numbers of the last one.
      stepRateOrigin = undefined;
      lastProgress = undefined;
      continue;
    }

    if (event.type === 'step') {
      const step = numberOrUndefined(event.step);
      if (step === undefined) continue;
      patch.step = step;
      setNumber(patch, 'maxSteps', event.max_steps);
      setNumber(patch, 'epoch', event.epoch);
      setNumber(patch, 'loss', event.loss);
      setNumber(patch, 'learningRate', event.learning_rate);
      const time = event.time ?? run.updatedAt;
      if (stepRateOrigin === undefined) stepRateOrigin = { step, time };
      patch.lastStepTime = time;

      if (isProgressDue(lastProgress, step, time, policy)) {
        const loss = numberOrUndefined(event.loss);
        const current = view();
        replies.push({
          key: `run:${run.id}:progress:a${run.attempt}${stageKeyPart(view())}:s${step}`,
          type: 'progress',
          step,
          maxSteps: current.maxSteps,
          loss,
          lossChange: loss !== undefined && lastProgress?.loss !== undefined ? loss - lastProgress.loss : undefined,
          learningRate: current.learningRate,
          epoch: current.epoch,
          stage: current.stageCount !== undefined && current.stageCount > 1 ? current.stage : undefined,
          rewardMean: numberOrUndefined(event.reward_mean),
          rewardStd: numberOrUndefined(event.reward_std),
          kl: numberOrUndefined(event.kl),
        });
        lastProgress = { step, loss, at: time };
      }
      continue;
    }

    if (event.type === 'checkpoint') {
      const step = numberOrUndefined(event.step);
      if (step === undefined || typeof event.path !== 'string') continue;
      patch.lastCheckpoint = { step, path: event.path };
      replies.push({ key: `run:${run.id}:checkpoint:a${run.attempt}${stageKeyPart(view())}:s${step}`, type: 'checkpoint', step, path: event.path });
      continue;
    }

    if (event.type === 'eval') {
      const step = numberOrUndefined(event.step);
      if (step === undefined) continue;
      const metrics: Record<string, number> = {};
      for (const [name, value] of Object.entries(event)) {
        if (['v', 'type', 'time', 'run_id', 'step'].includes(name)) continue;
        if (typeof value === 'number' && Number.isFinite(value)) metrics[name] = value;
      }
      replies.push({ key: `run:${run.id}:eval:a${run.attempt}${stageKeyPart(view())}:s${step}`, type: 'eval', step, metrics });
      continue;
    }

    // The end event.
    end = {
      status: event.status === 'succeeded' ? 'succeeded' : 'failed',
      step: numberOrUndefined(event.step),
      outputPath: typeof event.output_path === 'string' ? event.output_path : undefined,
      error: readError(event.error),
    };
    if (end.step !== undefined) patch.step = end.step;
    if (end.outputPath !== undefined) patch.outputPath = end.outputPath;
  }

  if (lastProgress !== run.lastProgress) patch.lastProgress = lastProgress;
  if (stepRateOrigin !== run.stepRateOrigin) patch.stepRateOrigin = stepRateOrigin;
  return { patch, replies, end, unknownTypes };
}

export interface OutboxPlan {
  /** Replies to post, in outbox order. */
  post: OutboxItem[];
  /** Keys of progress replies a newer progress reply of the same attempt and stage replaces. */
  superseded: string[];
}

/**
 * Decides which queued replies to post so that a thread that fell behind catches up:
 * only the newest progress reply of each attempt and stage is posted, with its loss
 * change measured from the last posted reply. Checkpoint and evaluation replies are
 * always posted. Pure, so a re-delivered job that flushes the same outbox decides the same.
 */
export function planOutbox(outbox: readonly OutboxItem[]): OutboxPlan {
  const newestBySeries = new Map<string, number>();
  outbox.forEach((item, index) => {
    if (item.type === 'progress') newestBySeries.set(progressSeries(item.key), index);
  });

  const post: OutboxItem[] = [];
  const superseded: string[] = [];
  // The first superseded reply of each series: the merged reply's loss change starts where it did.
  const firstSuperseded = new Map<string, OutboxItem & { type: 'progress' }>();
  outbox.forEach((item, index) => {
    if (item.type !== 'progress') {
      post.push(item);
      return;
    }
    const series = progressSeries(item.key);
    if (newestBySeries.get(series) !== index) {
      superseded.push(item.key);
      if (!firstSuperseded.has(series)) firstSuperseded.set(series, item);
      return;
    }
    const first = firstSuperseded.get(series);
    post.push(first ? { ...item, lossChange: mergedLossChange(first, item) } : item);
  });
  return { post, superseded };
}

/** A progress key without its step (`run:42:progress:a1:s30` to `run:42:progress:a1`). */
function progressSeries(key: string): string {
  return key.replace(/:s\d+$/, '');
}

/** Loss change from the reply before `first` to `newest`; undefined when `first` had no earlier reply. */
function mergedLossChange(first: OutboxItem & { type: 'progress' }, newest: OutboxItem & { type: 'progress' }): number | undefined {
  if (first.loss === undefined || first.lossChange === undefined || newest.loss === undefined) return undefined;
  return newest.loss - (first.loss - first.lossChange);
}

function isProgressDue(last: RunRecord['lastProgress'], step: number, time: string, policy: ProgressPolicy): boolean {
  if (last === undefined) return true;
  if (step <= last.step) return false;
  const elapsedMs = new Date(time).getTime() - new Date(last.at).getTime();
  if (elapsedMs >= policy.everySeconds * 1000) return true;
  return policy.everySteps !== undefined && step - last.step >= policy.everySteps;
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function setNumber<K extends 'maxSteps' | 'epoch' | 'loss' | 'learningRate' | 'stageIndex' | 'stageCount'>(
  patch: Partial<RunRecord>,
  field: K,
  value: unknown,
): void {
  const number = numberOrUndefined(value);
  if (number !== undefined) patch[field] = number;
}

function readError(value: unknown): EndEvent['error'] {
  if (typeof value !== 'object' || value === null) return undefined;
  const error = value as { type?: unknown; message?: unknown };
  return { type: typeof error.type === 'string' ? error.type : 'internal_error', message: typeof error.message === 'string' ? error.message : '' };
}
