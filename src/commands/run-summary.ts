import { tz } from '@date-fns/tz';
import { format } from 'date-fns';

import type { Translate } from '../bot/i18n.js';
import type { Config } from '../config/schema.js';
import { formatEndReason, formatLoss, runStatusLabel } from '../jobs/run-reporter.js';
import type { RunRecord } from '../jobs/run-types.js';

/** Pure one-line and detail texts of a run for /runs and /status. */
export function statusLabel(run: RunRecord, t: Translate): string {
  return runStatusLabel(run, t);
}

/**
 * Formats step and loss in the same form as the thread's progress replies. A run at
 * step 0 without a loss has only started the trainer, so it reads as no progress.
 */
export function progressText(run: RunRecord, t: Translate): string {
  if (run.step === undefined || (run.step === 0 && run.loss === undefined)) return t('core.runs.no_progress');
  const unknown = t('runs.root.unknown');
  return t('runs.summary.progress', {
    step: run.step,
    maxSteps: run.maxSteps ?? unknown,
    loss: run.loss === undefined ? unknown : formatLoss(run.loss),
  });
}

export function memberName(config: Config, userId: string): string {
  return config.team.members.find((member) => member.id === userId)?.name ?? userId;
}

export function formatTime(iso: string, config: Config): string {
  return format(new Date(iso), 'yyyy-MM-dd HH:mm', { in: tz(config.timezone) });
}

export function runLine(run: RunRecord, config: Config, t: Translate): string {
  return t('core.runs.line', {
    id: run.id,
    recipe: run.recipe,
    vm: run.vm,
    status: statusLabel(run, t),
    who: memberName(config, run.userId),
    progress: progressText(run, t),
  });
}

export function runDetail(run: RunRecord, config: Config, t: Translate): string {
  const lines = [
    t('core.status.body', {
      status: statusLabel(run, t),
      who: memberName(config, run.userId),
      createdAt: formatTime(run.createdAt, config),
      progress: progressText(run, t),
      attempt: run.attempt,
    }),
  ];
  const endReason = formatEndReason(run, t);
  if (endReason) lines.push(endReason);
  if (run.outputPath) lines.push(t('core.status.output', { outputPath: run.outputPath }));
  return lines.join('\n');
}
