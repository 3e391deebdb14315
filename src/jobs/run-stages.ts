/**
 * Stages of a run (SFT, then DPO or GRPO in a chained recipe): what each stage reported,
 * and how the thread shows it. RL stages report a reward, which the thread shows where
 * an SFT stage shows its loss. Pure functions over the run record and trainer events.
 */
import type { Translate } from '../bot/i18n.js';
import type { TrainerEvent } from './run-progress.js';
import type { RunRecord } from './run-types.js';

/** Stages whose metric is a reward (events carry `reward_mean`, `reward_std`, `kl`). */
export const RL_STAGES: ReadonlySet<string> = new Set(['dpo', 'grpo']);

/** The latest numbers one stage reported, kept for the thread root and the final summary. */
export interface StageSummary {
  /** 0-based position in the chain, as in the `start` event. */
  index: number;
  count: number;
  stage: string;
  step?: number;
  maxSteps?: number;
  loss?: number;
  rewardMean?: number;
  rewardStd?: number;
  kl?: number;
}

export function isRlStage(stage: string | undefined): boolean {
  return stage !== undefined && RL_STAGES.has(stage);
}

/** Returns the stage name as people read it: `SFT`, `GRPO`. */
export function stageLabel(stage: string): string {
  return stage.toUpperCase();
}

/** Returns the summaries after one `start` or `step` event. Other events leave them as they are. */
export function recordStageEvent(summaries: readonly StageSummary[] | undefined, event: TrainerEvent): StageSummary[] | undefined {
  if (event.type === 'start') {
    if (typeof event.stage !== 'string') return summaries ? [...summaries] : undefined;
    const index = finite(event.stage_index) ?? 0;
    const others = (summaries ?? []).filter((summary) => summary.index !== index);
    const earlier = summaries?.find((summary) => summary.index === index && summary.stage === event.stage);
    // A resumed stage keeps what it reported before its restart until new steps arrive.
    const stage: string = event.stage;
    const summary: StageSummary = { ...earlier, index, count: finite(event.stage_count) ?? 1, stage };
    const maxSteps = finite(event.max_steps);
    if (maxSteps !== undefined) summary.maxSteps = maxSteps;
    return [...others, summary].sort((a, b) => a.index - b.index);
  }
  // Steps belong to the stage started last, which sorts last.
  const current = summaries?.at(-1);
  if (event.type !== 'step' || !summaries || !current) return summaries ? [...summaries] : undefined;

  const updated: StageSummary = { ...current };
  const fields: Array<[keyof StageSummary, unknown]> = [
    ['step', event.step],
    ['maxSteps', event.max_steps],
    ['loss', event.loss],
    ['rewardMean', event.reward_mean],
    ['rewardStd', event.reward_std],
    ['kl', event.kl],
  ];
  for (const [name, value] of fields) {
    const number = finite(value);
    if (number !== undefined) (updated as unknown as Record<string, number>)[name] = number;
  }
  return [...summaries.slice(0, -1), updated];
}

/**
 * Returns the part of a reply key that distinguishes stages, since each stage counts its steps
 * from 1. It is empty for the first stage, so replies of single-stage runs keep their keys.
 */
export function stageKeyPart(run: Pick<RunRecord, 'stageIndex'>): string {
  return run.stageIndex === undefined || run.stageIndex === 0 ? '' : `:g${run.stageIndex}`;
}

/** Returns the summary of the stage the run is in now. */
export function currentStage(run: RunRecord): StageSummary | undefined {
  return run.stages?.find((summary) => summary.index === (run.stageIndex ?? 0) && summary.stage === run.stage);
}

/** Formats the root's stage field (`阶段 2/2：GRPO`), shown for chains and for RL stages. */
export function formatStageField(run: RunRecord, t: Translate): string | undefined {
  if (run.stage === undefined) return undefined;
  const count = run.stageCount ?? 1;
  if (count <= 1 && !isRlStage(run.stage)) return undefined;
  return t('rl.root.stage', { index: (run.stageIndex ?? 0) + 1, count, stage: stageLabel(run.stage) });
}

/** Formats the root's reward field, shown in place of loss while an RL stage runs. Other stages get undefined. */
export function formatRewardField(run: RunRecord, t: Translate, format: (value: number) => string): string | undefined {
  if (!isRlStage(run.stage)) return undefined;
  const reward = currentStage(run)?.rewardMean;
  return t('rl.root.reward', { reward: reward === undefined ? t('runs.root.unknown') : format(reward) });
}

/** Formats one line per stage for the final message of a chained or RL run. A plain SFT run gets none. */
export function formatStageSummary(run: RunRecord, t: Translate, format: (value: number) => string): string[] {
  const summaries = run.stages ?? [];
  if (!summaries.some((summary) => summary.count > 1 || isRlStage(summary.stage))) return [];
  const unknown = t('runs.root.unknown');
  const lines = [t('rl.end.chain')];
  for (const summary of summaries) {
    const params = {
      index: summary.index + 1,
      count: summary.count,
      stage: stageLabel(summary.stage),
      step: summary.step ?? 0,
      loss: summary.loss === undefined ? unknown : format(summary.loss),
      reward: summary.rewardMean === undefined ? unknown : format(summary.rewardMean),
    };
    lines.push(t(isRlStage(summary.stage) ? 'rl.end.stageReward' : 'rl.end.stageLoss', params));
  }
  return lines;
}

/**
 * Returns the stage folders (`0-sft`, `1-grpo`) of a chained run's output listing, latest
 * stage first. A plain run's listing has none.
 */
export function chainStageFolders(names: readonly string[]): string[] {
  const folders: Array<{ index: number; name: string }> = [];
  for (const name of names) {
    const match = /^(\d+)-[a-z]+$/.exec(name.trim());
    if (match) folders.push({ index: Number(match[1]), name: name.trim() });
  }
  return folders.sort((a, b) => b.index - a.index).map((folder) => folder.name);
}

/**
 * Step numbers of a whole chain for the loss chart: stage n's steps follow the last step of
 * stage n - 1. A resumed stage (another `start` with the same index) keeps its offset.
 */
export class StageStepOffsets {
  private readonly offsets = new Map<number, number>();
  private current = 0;
  private lastStep = 0;

  start(stageIndex: number | undefined): void {
    const index = stageIndex ?? 0;
    if (!this.offsets.has(index)) this.offsets.set(index, index === 0 ? 0 : this.lastStep);
    this.current = this.offsets.get(index) ?? 0;
  }

  step(step: number): number {
    const chained = this.current + step;
    this.lastStep = Math.max(this.lastStep, chained);
    return chained;
  }
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
