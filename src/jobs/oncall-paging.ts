import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';

import { actions, button } from '../bot/blocks.js';
import type { Translate } from '../bot/i18n.js';
import type { Config, FailureClass, Locale } from '../config/schema.js';
import type { Announcer } from './announcer.js';
import type { Clock } from './clock.js';
import { failureLabel } from './failure-report.js';
import { escalationOrder, resolveOncall } from './oncall-rotation.js';
import type { AckOutcome, OncallStore } from './oncall-store.js';
import type { RunRecord } from './run-types.js';

/**
 * Pages the on-call person in a failed run's thread with an "I'm on it" button, and
 * escalates to the next person in the rotation when nobody acknowledges within
 * `team.oncall.ackMinutes`. Escalations are BullMQ delayed jobs with deterministic ids
 * (`escalate-<run>-<attempt>-<level>`), so paging the same failure twice, or a job
 * delivered twice, never pages anyone twice.
 */

/** action_id of the acknowledge button; its value is `<runId>:<attempt>`. */
export const ONCALL_ACK_ACTION = 'oncall_ack';
export const ESCALATION_QUEUE = 'oncall-escalation';

export interface EscalationJob {
  runId: string;
  attempt: number;
  /** Level of the person paged last; the job pages `level + 1` if nobody acknowledged. */
  level: number;
}

export interface OncallPagerDeps {
  config: Config;
  store: OncallStore;
  announcer: Pick<Announcer, 'post' | 'updateRoot'>;
  queue: Queue<EscalationJob>;
  clock: Clock;
  logger: Logger;
  translate: (locale: Locale) => Translate;
  /** Reads the run for escalation messages; undefined when it no longer exists. */
  getRun(runId: string): Promise<RunRecord | undefined>;
}

export function createEscalationQueue(connection: ConnectionOptions, prefix: string): Queue<EscalationJob> {
  return new Queue<EscalationJob>(ESCALATION_QUEUE, { connection, prefix });
}

export function parseAckValue(value: string): { runId: string; attempt: number } | undefined {
  const match = /^(\d{1,12}):(\d{1,6})$/.exec(value);
  return match ? { runId: match[1] as string, attempt: Number(match[2]) } : undefined;
}

export class OncallPager {
  constructor(private readonly deps: OncallPagerDeps) {}

  private get t(): Translate {
    return this.deps.translate(this.deps.config.locale);
  }

  private ackDelayMs(): number {
    return Math.round(this.deps.config.team.oncall.ackMinutes * 60_000);
  }

  /**
   * Mentions the person on call in the run's thread for the failure of its current
   * attempt and schedules the escalation. Calling it again for the same attempt does nothing new.
   */
  async pageFailure(run: RunRecord, failureClass: FailureClass, extraLine?: string): Promise<void> {
    const { config, store, announcer, queue, clock, logger } = this.deps;
    const oncall = config.team.oncall;
    const state = resolveOncall(oncall, config.timezone, clock.now(), await store.getOverride());
    const order = escalationOrder(oncall, state);
    const label = failureLabel(this.t, failureClass);
    const thread = { channel: run.channel, threadTs: run.threadTs };

    if (order.length === 0) {
      await announcer.post(`run:${run.id}:page:a${run.attempt}:0`, {
        ...thread,
        text: [extraLine, this.t('oncall.pageNobody', { runId: run.id, label })].filter(Boolean).join('\n'),
      });
      return;
    }

    const { state: page } = await store.createPage({ runId: run.id, attempt: run.attempt, order, level: 0, failureClass });
    const first = page.order[0] as string;
    const minutes = oncall.ackMinutes;
    const text = [extraLine, this.t('oncall.page', { user: first, runId: run.id, label, minutes })].filter(Boolean).join('\n');
    await announcer.post(`run:${run.id}:page:a${run.attempt}:0`, {
      ...thread,
      text,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, this.ackActions(run)],
    });
    await this.scheduleEscalation({ runId: run.id, attempt: run.attempt, level: 0 });
    logger.info({ runId: run.id, attempt: run.attempt, userId: first, failureClass }, 'paged on-call');
  }

  /** Records "I'm on it" and says so in the thread; only the first acknowledgement counts. */
  async acknowledge(runId: string, attempt: number, userId: string): Promise<AckOutcome> {
    const { store, announcer, clock, logger } = this.deps;
    const outcome = await store.acknowledge(runId, attempt, userId, clock.now());
    if (outcome.outcome !== 'acked') return outcome;

    const run = await this.deps.getRun(runId);
    if (run) {
      const text = this.t('oncall.acked', { user: userId, runId });
      await announcer.post(`run:${runId}:ack:a${attempt}`, { channel: run.channel, threadTs: run.threadTs, text });
      await this.removeAckButtons(run, attempt, outcome.state.level, text);
    }
    await this.removePendingEscalation(runId, attempt, outcome.state.level);
    logger.info({ runId, attempt, userId }, 'on-call acknowledged failure');
    return outcome;
  }

  /** Processes one escalation job: pages the next person unless someone acknowledged. */
  async escalate(job: EscalationJob): Promise<void> {
    const { store, announcer, logger, config } = this.deps;
    const page = await store.getPage(job.runId, job.attempt);
    if (!page || page.ackedBy) return;

    const nextLevel = job.level + 1;
    const nextUser = page.order[nextLevel];
    if (!nextUser) {
      logger.warn({ runId: job.runId, attempt: job.attempt }, 'nobody acknowledged the failure and the escalation list is exhausted');
      return;
    }

    // Advance before posting: a re-delivered job then finds the level moved and still
    // reaches the keyed post below, which Slack sees at most once.
    const moved = await store.advanceLevel(job.runId, job.attempt, job.level);
    const current = await store.getPage(job.runId, job.attempt);
    if (!moved && (current?.ackedBy || (current?.level ?? 0) > nextLevel)) return;

    const run = await this.deps.getRun(job.runId);
    if (!run) return;
    const text = this.t('oncall.escalate', {
      user: nextUser,
      previous: page.order[job.level] as string,
      runId: run.id,
      label: failureLabel(this.t, page.failureClass),
      minutes: config.team.oncall.ackMinutes,
    });
    await announcer.post(`run:${run.id}:page:a${job.attempt}:${nextLevel}`, {
      channel: run.channel,
      threadTs: run.threadTs,
      text,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, this.ackActions({ id: run.id, attempt: job.attempt })],
    });
    await this.scheduleEscalation({ runId: job.runId, attempt: job.attempt, level: nextLevel });
    logger.info({ runId: run.id, attempt: job.attempt, userId: nextUser, level: nextLevel }, 'escalated unacknowledged failure');
  }

  /** Replaces the pages sent so far, whose button is no longer needed, with the acknowledgement. */
  private async removeAckButtons(run: RunRecord, attempt: number, level: number, text: string): Promise<void> {
    for (let paged = 0; paged <= level; paged += 1) {
      try {
        // The page is already recorded under its key, so this returns it without posting.
        const target = await this.deps.announcer.post(`run:${run.id}:page:a${attempt}:${paged}`, { channel: run.channel, threadTs: run.threadTs, text });
        await this.deps.announcer.updateRoot(target, { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
      } catch (error) {
        this.deps.logger.warn({ err: error, runId: run.id, attempt, level: paged }, 'could not remove the acknowledge button');
      }
    }
  }

  private ackActions(run: Pick<RunRecord, 'id' | 'attempt'>) {
    return actions([button(this.t('oncall.ackButton'), ONCALL_ACK_ACTION, `${run.id}:${run.attempt}`, { style: 'primary' })]);
  }

  private async scheduleEscalation(job: EscalationJob): Promise<void> {
    await this.deps.queue.add('escalate', job, {
      jobId: escalationJobId(job),
      delay: this.ackDelayMs(),
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
      attempts: 5,
      backoff: { type: 'exponential', delay: 5000 },
    });
  }

  private async removePendingEscalation(runId: string, attempt: number, level: number): Promise<void> {
    try {
      await this.deps.queue.remove(escalationJobId({ runId, attempt, level }));
    } catch (error) {
      // The job may be running right now; it sees the acknowledgement and stops.
      this.deps.logger.debug({ err: error, runId, attempt }, 'escalation job not removed');
    }
  }
}

export function escalationJobId(job: EscalationJob): string {
  return `escalate-${job.runId}-${job.attempt}-${job.level}`;
}

/** Starts the BullMQ worker that runs escalation jobs; close it on shutdown. */
export function startEscalationWorker(pager: OncallPager, connection: ConnectionOptions, prefix: string, logger: Logger): Worker<EscalationJob> {
  const worker = new Worker<EscalationJob>(ESCALATION_QUEUE, async (job: Job<EscalationJob>) => pager.escalate(job.data), { connection, prefix });
  worker.on('failed', (job, error) => logger.error({ err: error, jobId: job?.id }, 'escalation job failed'));
  return worker;
}
