import { actions, button, codeBlock, contextLine, limitBlocks, RUN_ACTIONS, section } from '../bot/blocks.js';
import type { Block } from '../bot/chat-port.js';
import type { Translate } from '../bot/i18n.js';
import type { FailureClassification } from './failure-classifier.js';
import { AUTO_RESTART_ACTOR } from './restart-policy.js';
import { formatLoss, formatResumePoint } from './run-reporter.js';
import { formatStageSummary } from './run-stages.js';
import type { AttemptRecord, RunRecord } from './run-types.js';
import { sparkline } from './sparkline.js';

/**
 * The failure message posted into a run's thread as the attempt's only final message.
 * It gives the class and its cause in plain words with the detail quoted. Then come
 * the exit code, the latest checkpoint, each chained stage's last step, the loss
 * sparkline, the last log lines, who started the run with which overrides, each
 * attempt, and how to restart. Pure: everything comes in as arguments.
 */

/** Log lines kept from the tail of train.log. */
export const LOG_TAIL_LINES = 20;
/** Characters of log kept, below Slack's 3000-character section limit with room for the fence. */
export const LOG_TAIL_CHARS = 2500;
const DETAIL_CHARS = 500;

export interface FailureReportInput {
  run: RunRecord;
  classification: FailureClassification;
  exitCode: number | null;
  logTail: string;
  /** Set when the run is marked lost: seconds the host has been unreachable. */
  lostAfterSeconds?: number;
  /** Loss of each step event of the attempt, in order, for the sparkline; may be empty. */
  losses?: readonly number[];
}

/** Hint keys of the classes that a restart alone cannot fix: the hint asks to fix the cause first. */
const HINT_KEYS: Partial<Record<FailureClassification['failureClass'], string>> = {
  data_error: 'failure.hint.data_error',
  config_error: 'failure.hint.config_error',
};

export function failureLabel(t: Translate, failureClass: string): string {
  return t(`failure.class.${failureClass}`);
}

/** Keeps the last lines of a log, cut at a line start, within LOG_TAIL_CHARS. */
export function trimLogTail(log: string, maxLines = LOG_TAIL_LINES, maxChars = LOG_TAIL_CHARS): string {
  const lines = log.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n').slice(-maxLines);
  while (lines.length > 1 && lines.join('\n').length > maxChars) lines.shift();

  const text = lines.join('\n');
  return text.length > maxChars ? `…${text.slice(-(maxChars - 1))}` : text;
}

export function formatFailureReport(t: Translate, input: FailureReportInput): { text: string; blocks: Block[] } {
  const { run, classification, exitCode, logTail, lostAfterSeconds } = input;
  const label = failureLabel(t, classification.failureClass);

  const title =
    lostAfterSeconds !== undefined
      ? t('failure.lostTitle', { runId: run.id, attempt: run.attempt, label, seconds: lostAfterSeconds })
      : t('failure.title', { runId: run.id, attempt: run.attempt, label });

  const facts: string[] = [];
  facts.push(formatReason(t, classification));
  facts.push(formatExitCode(t, exitCode, classification));
  facts.push(
    run.lastCheckpoint
      ? t('failure.checkpoint', { path: run.lastCheckpoint.path, step: run.lastCheckpoint.step })
      : t('failure.noCheckpoint'),
  );
  facts.push(...formatStageSummary(run, t, formatLoss));
  const lossLine = sparkline(input.losses ?? []);
  if (lossLine) facts.push(t('runs.end.sparkline', { sparkline: lossLine }));

  const trimmedLog = trimLogTail(logTail);
  const logText = trimmedLog ? `${t('failure.logTail')}\n${codeBlock(trimmedLog)}` : t('failure.logEmpty');

  const context = t('failure.context', {
    user: run.userId,
    recipe: run.recipe,
    vm: run.vm,
    overrides: formatOverrides(t, run.overrides),
  });
  const attemptLines = [t('failure.attempts'), ...run.attempts.map((attempt) => formatAttempt(t, attempt))].join('\n');

  const blocks: Block[] = [
    section(`*${title}*\n${facts.join('\n')}`),
    section(logText),
    contextLine(context),
    section(attemptLines),
    contextLine(t(HINT_KEYS[classification.failureClass] ?? 'failure.hint', { runId: run.id, recipe: run.recipe })),
    actions([
      button(t('restart.button'), RUN_ACTIONS.restart, run.id, { style: 'primary' }),
      button(t('failure.logsButton'), RUN_ACTIONS.logs, run.id),
    ]),
  ];

  const text = [title, ...facts, context].join('\n');
  return { text, blocks: limitBlocks(blocks) };
}

/**
 * Formats the cause as a sentence in the reader's language, followed by the detail as
 * written (often the trainer's English error message) in quotes.
 */
function formatReason(t: Translate, classification: FailureClassification): string {
  const reason = t(`failure.reason.${classification.failureClass}`);
  const detail = classification.detail.trim();
  if (!detail) return t('failure.reason', { reason });
  return t('failure.reasonDetail', { reason, detail: truncate(detail, DETAIL_CHARS) });
}

function formatExitCode(t: Translate, exitCode: number | null, classification: FailureClassification): string {
  const { failureClass, signal } = classification;
  // Without the host the bot could not read exit_code, which says nothing about whether it exists.
  if (exitCode === null && (failureClass === 'unreachable' || failureClass === 'evicted')) return t('failure.exitCodeUnreadable');
  if (exitCode === null) return t('failure.exitCodeNone');
  if (signal) return t('failure.exitCodeSignal', { exitCode, signal });
  return t('failure.exitCode', { exitCode });
}

export function formatOverrides(t: Translate, overrides: RunRecord['overrides']): string {
  const entries = Object.entries(overrides);
  if (entries.length === 0) return t('failure.noOverrides');
  return entries.map(([key, value]) => `\`${key}=${String(value)}\``).join(' ');
}

function formatAttempt(t: Translate, attempt: AttemptRecord): string {
  const outcome = attempt.failureClass
    ? failureLabel(t, attempt.failureClass)
    : attempt.status
      ? t(`runs.status.${attempt.status}`)
      : t('failure.attemptRunning');
  const startedBy = attempt.startedBy === AUTO_RESTART_ACTOR ? t('failure.autoActor') : `<@${attempt.startedBy}>`;
  return t('failure.attemptLine', {
    attempt: attempt.attempt,
    startedBy,
    from: formatResumePoint(t, attempt.resumedFrom),
    outcome,
  });
}

function truncate(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}
