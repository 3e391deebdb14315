/**
 * The one-line summary a piped console session writes to stderr when it exits 1: how
 * many commands were rejected or started no run, and which runs ended without success
 * and how. Pure, so the wording is tested without a session.
 */
import type { Translate } from './i18n.js';
import { runStatusLabel } from '../jobs/run-reporter.js';
import type { RunRecord } from '../jobs/run-types.js';

/** Counts of the piped lines, for the exit code and the summary. */
export interface PipedTally {
  total: number;
  rejected: number;
  trainsWithoutRun: number;
}

/**
 * Formats the summary of a piped session, or returns undefined when every command was
 * accepted and every run in `ended` succeeded (the session then exits 0).
 */
export function formatPipedSummary(tally: PipedTally, ended: readonly RunRecord[], t: Translate): string | undefined {
  const parts: string[] = [];

  if (tally.rejected > 0 || tally.trainsWithoutRun > 0) {
    // Only the non-zero counts, so the summary never contains "0 commands started no run".
    const details = [
      tally.rejected > 0 ? t('console.piped_rejected', { count: tally.rejected }) : undefined,
      tally.trainsWithoutRun > 0 ? t('console.piped_no_run', { count: tally.trainsWithoutRun }) : undefined,
    ].filter((part): part is string => part !== undefined);
    parts.push(t('console.piped_problems', { total: tally.total, details: details.join(t('core.list_separator')) }));
  }

  const unsuccessful = ended.filter((run) => run.status !== 'succeeded');
  if (unsuccessful.length > 0) {
    const runs = unsuccessful.map((run) => describeEndedRun(run, t)).join(t('core.list_separator'));
    parts.push(t('console.runs_unsuccessful', { count: unsuccessful.length, total: ended.length, runs }));
  }

  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** Describes how one run ended: `#1 demo 失败（数据错误）`, `#2 demo 已取消`. */
function describeEndedRun(run: RunRecord, t: Translate): string {
  const params = { id: run.id, recipe: run.recipe, status: runStatusLabel(run, t) };
  // A cancelled run's failure class only repeats its status.
  if (run.status === 'cancelled' || !run.failureClass) return t('console.run_ended', params);
  return t('console.run_ended_reason', { ...params, reason: t(`runs.failure.${run.failureClass}`) });
}
