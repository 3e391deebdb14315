/**
 * The plan queue and its worker: deadline reminders (delayed jobs, see
 * `plan-reminders.ts`) and the weekly digest (job schedulers, see `plan-digest.ts`).
 *
 * Every bot process may run `PlanJobs.start()`. The reminder job ids and the digest
 * scheduler ids are fixed, so several processes and restarts share one set of jobs.
 * Each post claims a once-only key first, so a job delivered twice posts once.
 */
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';

import type { ChatPort } from '../bot/chat-port.js';
import { translator } from '../bot/i18n.js';
import { describeLeft } from '../bot/plan-view.js';
import type { Config } from '../config/schema.js';
import type { PlanItem } from '../commands/plan-types.js';
import { formatDue, formatDuration, shiftWeek, weekKeyOf } from '../commands/plan-week.js';
import type { Clock } from './clock.js';
import { buildDigest, upsertDigestSchedulers, type DigestJobData } from './plan-digest.js';
import {
  PLAN_QUEUE_NAME,
  reminderJobId,
  scheduleItemReminders,
  scheduleNextOverdue,
  type ReminderJobData,
  type ReminderScheduler,
} from './plan-reminders.js';
import type { PlanStore } from './plan-store.js';

export type PlanJobData = ReminderJobData | DigestJobData;

export interface PlanJobsOptions {
  connection: ConnectionOptions;
  /** The config's `redisPrefix`, also BullMQ's key prefix. */
  prefix: string;
  store: PlanStore;
  chat: ChatPort;
  config: Pick<Config, 'plan' | 'timezone' | 'locale' | 'slack'>;
  clock: Clock;
  logger: Logger;
  queueName?: string;
}

export class PlanJobs {
  readonly queue: Queue<PlanJobData>;
  private worker?: Worker<PlanJobData>;
  private readonly scheduler: ReminderScheduler;
  private readonly logger: Logger;

  constructor(private readonly options: PlanJobsOptions) {
    this.queue = new Queue<PlanJobData>(options.queueName ?? PLAN_QUEUE_NAME, { connection: options.connection, prefix: options.prefix });
    this.scheduler = { queue: this.queue as Queue, clock: options.clock, config: options.config };
    this.logger = options.logger.child({ module: 'plan-jobs' });
  }

  /** Upserts the digest schedulers, schedules the open items' reminders and starts the worker. */
  async start(): Promise<void> {
    await upsertDigestSchedulers(this.queue as Queue, this.options.config);
    const scheduled = await this.syncReminders();

    this.worker = new Worker<PlanJobData>(this.queue.name, (job) => this.process(job), {
      connection: this.options.connection,
      prefix: this.options.prefix,
      concurrency: 4,
    });
    this.worker.on('failed', (job, error) => {
      this.logger.error({ err: error, jobId: job?.id, attemptsMade: job?.attemptsMade }, 'plan job failed');
    });
    this.worker.on('error', (error) => this.logger.error({ err: error }, 'plan worker error'));
    this.logger.info({ scheduled }, 'plan jobs started');
  }

  /** Schedules reminders of the open items of last, this and next week; returns the jobs added or kept. */
  async syncReminders(): Promise<number> {
    const timeZone = this.options.config.timezone;
    const thisWeek = weekKeyOf(this.options.clock.now(), timeZone);
    let count = 0;
    for (const week of [shiftWeek(thisWeek, -1, timeZone), thisWeek, shiftWeek(thisWeek, 1, timeZone)]) {
      for (const item of await this.options.store.list(week)) count += await scheduleItemReminders(this.scheduler, item);
    }
    return count;
  }

  /** Schedules one item's reminders; call after the item is added or its due time changes. */
  async scheduleReminders(item: PlanItem): Promise<void> {
    await scheduleItemReminders(this.scheduler, item);
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }

  /** Processes one plan job; public so a test can run a job without waiting for its time. */
  async process(job: Pick<Job<PlanJobData>, 'data' | 'id'>): Promise<void> {
    if (job.data.type === 'digest') return this.postDigest(job.data);
    return this.postReminder(job.data);
  }

  private async postReminder(data: ReminderJobData): Promise<void> {
    const item = await this.options.store.get({ week: data.week, number: data.number });
    const log = this.logger.child({ week: data.week, item: data.number, kind: data.kind });
    if (!item || item.status === 'done' || item.due !== data.due) {
      log.info({ found: Boolean(item), status: item?.status }, 'reminder skipped: item gone, done or rescheduled');
      return;
    }

    const key = `reminder:${reminderJobId(data)}`;
    if (!(await this.options.store.claimOnce(key))) {
      log.info('reminder skipped: already posted');
      return;
    }

    const { config } = this.options;
    const t = translator(config.locale);
    const due = new Date(item.due);
    const at = new Date(data.at);
    const params = {
      owner: item.owner ? `<@${item.owner}>` : t('plan.reminder.no_owner'),
      number: item.number,
      title: item.title,
      due: formatDue(due, config.timezone, config.locale),
      left: describeLeft(item, config.timezone, config.locale, t),
      hours: data.kind.startsWith('before_') ? data.kind.slice('before_'.length, -1) : '',
      late: formatDuration((at.getTime() - due.getTime()) / 60_000, config.locale),
    };
    const key18n = data.kind.startsWith('before_') ? 'plan.reminder.before' : `plan.reminder.${data.kind}`;

    try {
      await this.options.chat.postMessage({ channel: config.slack.channel, text: t(key18n, params) });
    } catch (error) {
      // Releasing the claim lets BullMQ's retry post the reminder.
      await this.options.store.releaseOnce(key);
      throw error;
    }
    log.info({ at: data.at }, 'reminder posted');

    if (data.kind === 'due' || data.kind === 'overdue') await scheduleNextOverdue(this.scheduler, item, at);
  }

  private async postDigest(data: DigestJobData): Promise<void> {
    const { config, clock, store } = this.options;
    const now = clock.now();
    const week = weekKeyOf(now, config.timezone);
    const key = `digest:${week}:${data.kind}`;
    if (!(await store.claimOnce(key))) {
      this.logger.info({ week, kind: data.kind }, 'digest skipped: already posted');
      return;
    }

    const items = await store.list(week);
    const message = buildDigest({ kind: data.kind, week, items, now, timeZone: config.timezone, locale: config.locale, t: translator(config.locale) });
    try {
      await this.options.chat.postMessage({ channel: config.slack.channel, ...message });
    } catch (error) {
      await store.releaseOnce(key);
      throw error;
    }
    this.logger.info({ week, kind: data.kind, items: items.length }, 'digest posted');
  }
}
