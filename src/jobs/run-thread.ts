/**
 * A run's Slack thread: posts the root, keeps it current, drains the run's outbox of
 * replies and posts the outcome, each through the keyed `Announcer`. The run record is
 * always stored before anything here announces it.
 */
import type { Logger } from 'pino';

import { ChatApiError } from '../bot/chat-errors.js';
import type { Translate } from '../bot/i18n.js';
import type { Announcer } from './announcer.js';
import { chartLabels, renderLossChart, type ChartPoint } from './loss-chart.js';
import { planOutbox } from './run-progress.js';
import { formatFinalMessage, formatOutboxItem, formatThreadRoot } from './run-reporter.js';
import type { RunStore } from './run-store.js';
import type { RunRecord } from './run-types.js';

export interface RunThreadDeps {
  announcer: Announcer;
  store: RunStore;
  t: Translate;
  logger: Logger;
  lostAfterSeconds: number;
  /** Called with the stored run on every refresh (each transition and progress update); the plan follows runs through it. */
  onRunChanged?: (run: RunRecord) => Promise<void>;
}

/**
 * Announcement key of the final message of the run's current attempt. The short outcome
 * and the failure report share it, so whichever is posted first is the only one.
 */
export function outcomeKey(run: Pick<RunRecord, 'id' | 'attempt'>): string {
  return `run:${run.id}:end:a${run.attempt}`;
}

export class RunThread {
  constructor(private readonly deps: RunThreadDeps) {}

  translate(key: string, params?: Parameters<Translate>[1]): string {
    return this.deps.t(key, params);
  }

  /** Posts the thread root of a new run (once) and stores its ts on the run. */
  async postThreadRoot(run: RunRecord): Promise<RunRecord> {
    const message = formatThreadRoot(run, this.deps.t);
    const posted = await this.deps.announcer.post(`run:${run.id}:root`, { channel: run.channel, ...message });
    if (run.threadTs === posted.ts) return run;
    return this.deps.store.setThreadTs(run.id, posted.ts);
  }

  /**
   * Brings the root up to date with the run; coalesced, so calling it per event is fine.
   * A failed update is logged, not thrown: the next refresh sends the latest state anyway.
   */
  async refreshRoot(run: RunRecord): Promise<void> {
    await this.notifyRunChanged(run);
    if (!run.threadTs) return;
    try {
      await this.deps.announcer.updateRoot({ channel: run.channel, ts: run.threadTs }, formatThreadRoot(run, this.deps.t));
    } catch (error) {
      this.deps.logger.warn({ err: error, runId: run.id, threadTs: run.threadTs }, 'thread root update failed');
    }
  }

  /** Posts a reply in the thread once for `key`. */
  async postReply(run: RunRecord, key: string, text: string): Promise<void> {
    await this.deps.announcer.post(key, { channel: run.channel, threadTs: run.threadTs, text });
  }

  /** Uploads a file (a chart) into the run's thread once for `key`. */
  async postFile(run: RunRecord, key: string, file: { filename: string; title: string; content: Buffer }): Promise<void> {
    await this.deps.announcer.upload(key, { channel: run.channel, threadTs: run.threadTs, ...file });
  }

  /**
   * Posts the run's queued replies in order and removes each from the stored outbox once
   * posted. Progress replies that a newer one replaces (`planOutbox`) are removed unposted,
   * so a backlog costs one post per series, not one per reply. A reply Slack rejects for
   * good (`ChatApiError`) is logged and dropped, so one bad message cannot stop the
   * following of a run. Other errors are thrown.
   */
  async flushOutbox(run: RunRecord): Promise<RunRecord> {
    const plan = planOutbox(run.outbox ?? []);
    let current = run;
    if (plan.superseded.length > 0) {
      // The merged replies are stored too, so a worker that dies now leaves their loss change right.
      const superseded = new Set(plan.superseded);
      const planned = new Map(plan.post.map((item) => [item.key, item]));
      current = await this.deps.store.update(run.id, (stored) => ({
        outbox: (stored.outbox ?? []).filter((queued) => !superseded.has(queued.key)).map((queued) => planned.get(queued.key) ?? queued),
      }));
      this.deps.logger.debug({ runId: run.id, superseded: plan.superseded.length }, 'skipped progress replies a newer one replaces');
    }
    for (const item of plan.post) {
      try {
        await this.postReply(current, item.key, formatOutboxItem(item, this.deps.t));
      } catch (error) {
        if (!(error instanceof ChatApiError)) throw error;
        this.deps.logger.warn({ err: error, runId: run.id, key: item.key }, 'Slack rejected a thread reply; dropping it');
      }
      current = await this.deps.store.update(run.id, (stored) => ({ outbox: (stored.outbox ?? []).filter((queued) => queued.key !== item.key) }));
    }
    return current;
  }

  /**
   * Posts the outcome of the current attempt: the final message, then the loss chart.
   * The final message is skipped when the attempt's failure report was already posted
   * under its key (`outcomeKey`). A failed chart upload is logged and does not stop the
   * outcome from being reported.
   */
  async postOutcome(run: RunRecord, points: readonly ChartPoint[]): Promise<void> {
    const { announcer, t, logger } = this.deps;
    const losses = points.map((point) => point.loss).filter((loss): loss is number => loss !== undefined);
    const final = formatFinalMessage({ run, losses, lostAfterSeconds: this.deps.lostAfterSeconds }, t);
    await announcer.post(outcomeKey(run), { channel: run.channel, threadTs: run.threadTs, ...final });
    await this.refreshRoot(run);

    try {
      const title = t('runs.chart.title', { id: run.id });
      const png = renderLossChart(points, `#${run.id} ${run.recipe} @ ${run.vm}`, chartLabels(t));
      if (png) {
        await announcer.upload(`run:${run.id}:chart:a${run.attempt}`, {
          channel: run.channel,
          threadTs: run.threadTs,
          filename: `run-${run.id}-loss.png`,
          title,
          content: png,
        });
      }
    } catch (error) {
      logger.warn({ err: error, runId: run.id }, 'loss chart upload failed; the outcome was posted without it');
    }
  }

  private async notifyRunChanged(run: RunRecord): Promise<void> {
    try {
      await this.deps.onRunChanged?.(run);
    } catch (error) {
      this.deps.logger.warn({ err: error, runId: run.id }, 'run change hook failed');
    }
  }
}
