/**
 * Pure Block Kit formatting of a run's Slack thread: the root message (edited in place
 * as the run moves), the replies queued in the run's outbox, and the final message.
 * Every function takes the run and a translator and returns text and blocks; nothing
 * here talks to Slack or Redis.
 */
import type { Block } from '../bot/chat-port.js';
import type { Translate } from '../bot/i18n.js';
import { formatDataWarning } from './run-data-warning.js';
import { formatRewardField, formatStageField, formatStageSummary, stageLabel } from './run-stages.js';
import { isActiveStatus } from './run-state.js';
import type { OutboxItem, RunRecord } from './run-types.js';
import { sparkline } from './sparkline.js';

export interface FormattedMessage {
  text: string;
  blocks?: Block[];
}

/** Action ids of the root message's buttons; the value of each is the run id. */
export const RUN_ACTIONS = { cancel: 'run_cancel', restart: 'run_restart', logs: 'run_logs' } as const;

const STATUS_ICONS: Record<RunRecord['status'], string> = {
  queued: '⏳',
  starting_vm: '🔌',
  syncing: '📦',
  running: '🏃',
  serving: '🟢',
  succeeded: '✅',
  failed: '❌',
  cancelled: '🛑',
  lost: '⚠️',
  restarting: '🔁',
};

/** Icons of the `running` status of runs that do not train. */
const RUNNING_ICONS: Record<Exclude<RunRecord['kind'], 'train'>, string> = {
  deploy: '🚀',
  dataset: '🔍',
  bench: '📶',
};

/** Names the run's status in words fit for its kind: a running deployment is 部署中, not 训练中. */
export function runStatusLabel(run: Pick<RunRecord, 'kind' | 'status'>, t: Translate): string {
  if (run.status === 'running' && run.kind !== 'train') return t(`runs.status.running.${run.kind}`);
  return t(`runs.status.${run.status}`);
}

function runStatusIcon(run: Pick<RunRecord, 'kind' | 'status'>): string {
  if (run.status === 'running' && run.kind !== 'train') return RUNNING_ICONS[run.kind];
  return STATUS_ICONS[run.status];
}

/**
 * Says why an unsuccessful run ended, for /status: who cancelled it, or the localized
 * failure class with its detail. Returns undefined for runs with nothing to explain.
 */
export function formatEndReason(run: RunRecord, t: Translate): string | undefined {
  if (run.status === 'cancelled') return run.cancelRequestedBy ? t('runs.summary.cancelledBy', { user: run.cancelRequestedBy }) : undefined;
  if (!run.failureClass && !run.failureMessage) return undefined;
  const failureClass = t(`runs.failure.${run.failureClass ?? 'unknown'}`);
  return run.failureMessage ? t('runs.summary.failure', { failureClass, message: run.failureMessage }) : t('runs.summary.failureClass', { failureClass });
}

export function formatThreadRoot(run: RunRecord, t: Translate): FormattedMessage {
  const title = t('runs.root.title', { kind: t(`runs.kind.${run.kind}`), id: run.id, recipe: run.recipe, vm: run.vm });
  const status = `${runStatusIcon(run)} ${runStatusLabel(run, t)}`;
  const unknown = t('runs.root.unknown');

  const fields: string[] = [t('runs.root.status', { status })];
  const resuming = run.kind === 'train' && isResuming(run);
  if (resuming) {
    // Step, loss and ETA of the previous attempt would be stale: show where this one resumes.
    fields.push(t('runs.root.step', { step: run.lastCheckpoint?.step ?? 0, maxSteps: run.maxSteps ?? unknown }));
    fields.push(t('runs.root.loss', { loss: unknown }), t('runs.root.eta', { eta: unknown }));
  } else if (run.kind === 'train') {
    fields.push(t('runs.root.step', { step: run.step ?? 0, maxSteps: run.maxSteps ?? unknown }));
    fields.push(formatRewardField(run, t, formatLoss) ?? t('runs.root.loss', { loss: run.loss === undefined ? unknown : formatLoss(run.loss) }));
    const remainingMs = isActiveStatus(run.status) ? estimateRemainingMs(run) : undefined;
    fields.push(t('runs.root.eta', { eta: remainingMs === undefined ? unknown : formatDuration(remainingMs, t) }));
  }
  fields.push(t('runs.root.vm', { vm: run.vm }), t('runs.root.recipe', { recipe: run.recipe }), t('runs.root.startedBy', { user: run.userId }));
  if (run.attempt > 1) fields.push(t('runs.root.attempt', { attempt: run.attempt }));
  if (resuming) fields.push(t('runs.root.resuming', { from: formatResumePoint(t, run.resumeFrom) }));
  const stage = formatStageField(run, t);
  if (stage) fields.push(stage);

  const overrides = formatOverrides(run.overrides);
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: title, emoji: true } },
    // Block Kit allows at most 10 fields in a section.
    { type: 'section', fields: fields.slice(0, 10).map((text) => ({ type: 'mrkdwn', text })) },
  ];
  if (overrides) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: t('runs.root.overrides', { overrides }) }] });
  blocks.push({ type: 'actions', block_id: `run_actions_${run.id}`, elements: buttonsFor(run, t) });

  return { text: `${title} · ${status}`, blocks };
}

function buttonsFor(run: RunRecord, t: Translate): Block[] {
  const buttons: Block[] = [];
  if (isActiveStatus(run.status)) {
    buttons.push({
      type: 'button',
      action_id: RUN_ACTIONS.cancel,
      value: run.id,
      style: 'danger',
      text: { type: 'plain_text', text: t('runs.button.cancel') },
      confirm: {
        title: { type: 'plain_text', text: t('runs.button.cancelConfirmTitle') },
        text: { type: 'plain_text', text: t('runs.button.cancelConfirmText') },
        confirm: { type: 'plain_text', text: t('runs.button.confirm') },
        deny: { type: 'plain_text', text: t('runs.button.deny') },
      },
    });
  } else if (run.status !== 'succeeded') {
    // A succeeded run is not restarted because its output is complete. Training again is a new /train.
    buttons.push({ type: 'button', action_id: RUN_ACTIONS.restart, value: run.id, text: { type: 'plain_text', text: t('runs.button.restart') } });
  }
  buttons.push({ type: 'button', action_id: RUN_ACTIONS.logs, value: run.id, text: { type: 'plain_text', text: t('runs.button.logs') } });
  return buttons;
}

/** Text of one queued thread reply. */
export function formatOutboxItem(item: OutboxItem, t: Translate): string {
  if (item.type === 'checkpoint') return t('runs.checkpoint', { step: item.step, path: item.path });
  if (item.type === 'data_warning') return formatDataWarning(item, t);
  if (item.type === 'eval') {
    const metrics = Object.entries(item.metrics)
      .map(([name, value]) => `${name}=${formatLoss(value)}`)
      .join(', ');
    return t('runs.eval', { step: item.step, metrics });
  }

  const unknown = t('runs.root.unknown');
  const params = {
    step: item.step,
    maxSteps: item.maxSteps ?? unknown,
    loss: item.loss === undefined ? unknown : formatLoss(item.loss),
    lossChange: item.lossChange === undefined || item.loss === undefined ? undefined : formatLossChange(item.lossChange, item.loss),
    learningRate: item.learningRate === undefined ? unknown : item.learningRate.toExponential(2),
    epoch: item.epoch === undefined ? unknown : item.epoch.toFixed(2),
  };
  const line =
    item.rewardMean === undefined
      ? t(params.lossChange === undefined ? 'runs.progress.first' : 'runs.progress', params)
      : t('rl.progress', {
          ...params,
          reward: formatLoss(item.rewardMean),
          rewardStd: item.rewardStd === undefined ? unknown : formatLoss(item.rewardStd),
          kl: item.kl === undefined ? unknown : formatLoss(item.kl),
        });
  return item.stage ? `[${stageLabel(item.stage)}] ${line}` : line;
}

export interface FinalReport {
  run: RunRecord;
  /** Loss of each step event of the run, in order, for the sparkline. */
  losses: readonly number[];
  /** `runs.lostAfterSeconds`, for the lost message. */
  lostAfterSeconds: number;
}

/** Formats the final message of a run: outcome, duration, final loss, adapter path and sparkline. */
export function formatFinalMessage(report: FinalReport, t: Translate): FormattedMessage {
  const { run } = report;
  const unknown = t('runs.root.unknown');
  const lines: string[] = [];

  if (run.status === 'succeeded') {
    const running = runningTime(run);
    const duration = running === undefined ? unknown : formatDuration(running.ms, t);
    lines.push(
      t('runs.end.succeeded', {
        duration: running && running.attempts > 1 ? t('runs.duration.attempts', { duration, count: running.attempts }) : duration,
        loss: run.loss === undefined ? unknown : formatLoss(run.loss),
        step: run.step ?? 0,
        outputPath: run.outputPath ?? unknown,
      }),
    );
  } else if (run.status === 'cancelled') {
    // A restarted attempt cancelled before its first step stopped where it resumed.
    const step = run.step ?? run.lastCheckpoint?.step ?? 0;
    lines.push(run.cancelRequestedBy ? t('runs.end.cancelled', { user: run.cancelRequestedBy, step }) : t('runs.end.cancelledNoUser', { step }));
  } else if (run.status === 'lost') {
    lines.push(t('runs.end.lost', { vm: run.vm, minutes: Math.round(report.lostAfterSeconds / 60) }));
  } else {
    const failureClass = t(`runs.failure.${run.failureClass ?? 'unknown'}`);
    lines.push(t('runs.end.failed', { failureClass, message: run.failureMessage ?? unknown }));
  }

  lines.push(...formatStageSummary(run, t, formatLoss));
  if (run.status !== 'succeeded' && run.lastCheckpoint) {
    lines.push(t('runs.end.lastCheckpoint', { path: run.lastCheckpoint.path, step: run.lastCheckpoint.step }));
  }
  const line = sparkline(report.losses);
  if (line) lines.push(t('runs.end.sparkline', { sparkline: line }));

  const text = lines.join('\n');
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

/**
 * Returns whether a step event of the current attempt has been read. A restart clears the stored
 * step, so a step left from the previous attempt never counts.
 */
export function hasTrainingProgress(run: Pick<RunRecord, 'step'>): boolean {
  return (run.step ?? 0) > 0;
}

/** Returns whether a restarted attempt is under way and has not reported a step yet. */
export function isResuming(run: Pick<RunRecord, 'attempt' | 'status' | 'step'>): boolean {
  return run.attempt > 1 && isActiveStatus(run.status) && !hasTrainingProgress(run);
}

/**
 * Picks the message key of the thread reply to a cancel sent to a launched trainer. Only
 * a trainer that has reported a step is known to be training, so only then is a
 * checkpoint promised. Before that it may still be loading, and then it exits at once
 * without saving.
 */
export function cancelRequestedKey(run: Pick<RunRecord, 'step'>): 'runs.cancel.requested' | 'runs.cancel.requestedStarting' {
  return hasTrainingProgress(run) ? 'runs.cancel.requested' : 'runs.cancel.requestedStarting';
}

/**
 * Computes the running time of a run: the sum of its attempts' spans from launch to end,
 * so the time it stood cancelled or failed before a restart is not counted. Records whose attempts
 * have no launch time (stored before it was kept) fall back to the run's start and end.
 * Returns undefined while nothing has ended.
 */
export function runningTime(run: Pick<RunRecord, 'attempts' | 'startedAt' | 'endedAt'>): { ms: number; attempts: number } | undefined {
  const spans = run.attempts
    .filter((attempt) => attempt.launchedAt !== undefined && attempt.endedAt !== undefined)
    .map((attempt) => Math.max(0, new Date(attempt.endedAt!).getTime() - new Date(attempt.launchedAt!).getTime()));
  if (spans.length > 0) return { ms: spans.reduce((sum, span) => sum + span, 0), attempts: spans.length };
  if (!run.startedAt || !run.endedAt) return undefined;
  return { ms: new Date(run.endedAt).getTime() - new Date(run.startedAt).getTime(), attempts: 1 };
}

/** Remaining time from the step rate of the current attempt, or undefined before two steps. */
export function estimateRemainingMs(run: RunRecord): number | undefined {
  const origin = run.stepRateOrigin;
  if (!origin || run.step === undefined || run.maxSteps === undefined || !run.lastStepTime) return undefined;
  const steps = run.step - origin.step;
  const elapsedMs = new Date(run.lastStepTime).getTime() - new Date(origin.time).getTime();
  if (steps <= 0 || elapsedMs <= 0) return undefined;
  return Math.max(0, ((run.maxSteps - run.step) * elapsedMs) / steps);
}

export function formatDuration(ms: number, t: Translate): string {
  const totalSeconds = Math.max(0, Math.round(ms / 1000));
  const days = Math.floor(totalSeconds / 86_400);
  const hours = Math.floor((totalSeconds % 86_400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (days > 0) return t('runs.duration.days', { d: days, h: hours });
  if (hours > 0) return t('runs.duration.hours', { h: hours, m: minutes });
  if (minutes > 0) return t('runs.duration.minutes', { m: minutes, s: seconds });
  return t('runs.duration.seconds', { s: seconds });
}

/** Describes where an attempt resumed from: a checkpoint path, `none`/`scratch`, or nothing recorded. */
export function formatResumePoint(t: Translate, resumedFrom: string | null | undefined): string {
  const step = resumedFrom ? /checkpoint-(\d+)\/?$/.exec(resumedFrom)?.[1] : undefined;
  if (step) return t('restart.fromCheckpoint', { step });
  return t('restart.fromScratch');
}

/**
 * Formats a loss (also rewards and metrics) with four significant digits and no
 * trailing zeros: `6.43`, `0.0891`. Thread cards, /status, /runs and failure reports
 * all use it, so one value reads the same everywhere.
 */
export function formatLoss(value: number): string {
  return Number(value.toPrecision(4)).toString();
}

/**
 * Formats the signed change since the previous progress reply with as many decimals as
 * `formatLoss` gives the new loss, so loss 6.43 changes by `-0.209`, not `-0.2086`.
 */
export function formatLossChange(change: number, loss: number): string {
  const magnitude = loss === 0 ? 0 : Math.floor(Math.log10(Math.abs(loss)));
  const decimals = Math.min(20, Math.max(0, 3 - magnitude));
  const rounded = Number(change.toFixed(decimals));
  if (rounded === 0) return '±0';
  return `${rounded > 0 ? '+' : ''}${rounded.toFixed(decimals)}`;
}

function formatOverrides(overrides: RunRecord['overrides']): string {
  return Object.entries(overrides)
    .map(([name, value]) => `\`${name}=${String(value)}\``)
    .join(' ');
}
