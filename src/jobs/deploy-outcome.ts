/**
 * Final thread messages of deploy, data set check and comm bench runs. The training
 * message (`run-reporter.ts`) speaks of steps, loss and the adapter, which these runs do
 * not have. Pure.
 */
import type { Translate } from '../bot/i18n.js';
import { formatDuration } from './run-reporter.js';
import type { RunRecord } from './run-types.js';

/** Actor recorded as `cancelRequestedBy` on a deployment replaced by a newer one: `deploy:<run id>`. */
export const REPLACED_BY_PREFIX = 'deploy:';

export function formatKindOutcome(run: RunRecord, lostAfterSeconds: number, t: Translate): string {
  const kind = t(`runs.kind.${run.kind}`);
  const unknown = t('runs.root.unknown');
  const durationMs = run.startedAt && run.endedAt ? new Date(run.endedAt).getTime() - new Date(run.startedAt).getTime() : undefined;
  const duration = durationMs === undefined ? unknown : formatDuration(durationMs, t);
  const stoppedBy = run.cancelRequestedBy;

  switch (run.status) {
    case 'succeeded':
      if (run.kind === 'deploy' && stoppedBy?.startsWith(REPLACED_BY_PREFIX)) {
        return t('deploy.end.replaced', { id: stoppedBy.slice(REPLACED_BY_PREFIX.length), duration });
      }
      if (run.kind === 'deploy') return t('deploy.end.stopped', { user: stoppedBy ?? unknown, duration });
      return t('deploy.end.succeeded', { kind, duration });
    case 'cancelled':
      return stoppedBy ? t('deploy.end.cancelled', { kind, user: stoppedBy }) : t('deploy.end.cancelledNoUser', { kind });
    case 'lost':
      return t('deploy.end.lost', { kind, vm: run.vm, minutes: Math.round(lostAfterSeconds / 60) });
    default:
      return t('deploy.end.failed', { kind, failureClass: t(`runs.failure.${run.failureClass ?? 'unknown'}`), message: run.failureMessage ?? unknown });
  }
}
