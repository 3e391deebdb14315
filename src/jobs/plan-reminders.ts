/**
 * Deadline reminders for plan items, as BullMQ delayed jobs on the plan queue.
 *
 * Each reminder is one job whose id is derived from the item, the reminder kind and
 * the due instant (`plan-reminder-2026-W49-2.1-before-2h-29413200`). Every process
 * schedules the same ids, and BullMQ keeps one job per id, so restarts and several
 * bot processes never create duplicates. When the due time is edited the ids change
 * and the old jobs find the due time changed and do nothing. The worker also claims a
 * once-only key before posting, so a job delivered twice posts once.
 *
 * Instants are computed with `TZDate` in the team's zone, so "the day before at 10:00"
 * stays 10:00 local time across daylight-saving changes.
 */
import { TZDate } from '@date-fns/tz';
import { addDays, subDays } from 'date-fns';
import type { Queue } from 'bullmq';

import type { Config } from '../config/schema.js';
import type { PlanItem } from '../commands/plan-types.js';
import type { Clock } from './clock.js';

export const PLAN_QUEUE_NAME = 'plan';

export type ReminderKind = 'day_before' | `before_${number}h` | 'due' | 'overdue';

export interface ReminderJobData {
  type: 'reminder';
  week: string;
  number: string;
  kind: ReminderKind;
  /** Instant the reminder is for, ISO 8601 UTC. */
  at: string;
  /** Due instant of the item when the reminder was scheduled; a changed due voids it. */
  due: string;
}

export interface PlannedReminder {
  kind: ReminderKind;
  at: Date;
}

type PlanConfig = Config['plan'];

/** Lists an item's reminders before and at its due time, earliest first. */
export function planReminders(item: Pick<PlanItem, 'due'>, plan: PlanConfig, timeZone: string): PlannedReminder[] {
  const due = new Date(item.due);
  const reminders: PlannedReminder[] = [];

  if (plan.reminders.dayBeforeAt) {
    const local = new TZDate(due.getTime(), timeZone);
    const [hour, minute] = parseClockTime(plan.reminders.dayBeforeAt);
    const dayBefore = subDays(new TZDate(local.getFullYear(), local.getMonth(), local.getDate(), hour, minute, timeZone), 1);
    reminders.push({ kind: 'day_before', at: new Date(dayBefore.getTime()) });
  }

  for (const hours of plan.reminders.hoursBefore) {
    reminders.push({ kind: `before_${hours}h`, at: new Date(due.getTime() - hours * 3_600_000) });
  }

  if (plan.reminders.atDue) reminders.push({ kind: 'due', at: due });

  return reminders.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** Returns the first working morning (Monday to Friday) at `time` strictly after `after`. */
export function nextWorkingMorning(after: Date, time: string, timeZone: string): Date {
  const [hour, minute] = parseClockTime(time);
  const local = new TZDate(after.getTime(), timeZone);
  let day = new TZDate(local.getFullYear(), local.getMonth(), local.getDate(), hour, minute, timeZone);

  for (let index = 0; index < 8; index += 1) {
    const weekday = day.getDay();
    if (weekday !== 0 && weekday !== 6 && day.getTime() > after.getTime()) return new Date(day.getTime());
    day = addDays(day, 1);
  }
  throw new Error(`no working morning found after ${after.toISOString()}`);
}

export function reminderJobId(data: Pick<ReminderJobData, 'week' | 'number' | 'kind' | 'at' | 'due'>): string {
  // BullMQ rejects custom ids with ':'; minutes since the epoch keep the id short.
  const dueMinutes = Math.floor(new Date(data.due).getTime() / 60_000);
  const kind = data.kind === 'overdue' ? `overdue-${Math.floor(new Date(data.at).getTime() / 60_000)}` : data.kind.replace('_', '-');
  return `plan-reminder-${data.week}-${data.number}-${kind}-${dueMinutes}`;
}

export interface ReminderScheduler {
  queue: Queue;
  clock: Clock;
  config: Pick<Config, 'plan' | 'timezone'>;
}

/**
 * Schedules the item's reminders that are still ahead, plus the first overdue notice
 * when the item is already past due. Done items get none. Safe to call again at any
 * time: the job ids are deterministic.
 */
export async function scheduleItemReminders(scheduler: ReminderScheduler, item: PlanItem): Promise<number> {
  if (item.status === 'done') return 0;
  const now = scheduler.clock.now();
  const { plan, timezone } = scheduler.config;

  const upcoming = planReminders(item, plan, timezone).filter((reminder) => reminder.at.getTime() > now.getTime());
  const jobs = upcoming.map((reminder) => reminderJob(item, reminder));

  // The "due" job schedules the overdue notices when it fires. An item already past
  // due, or one without a due reminder, gets its next overdue morning here.
  const dueAhead = upcoming.some((reminder) => reminder.kind === 'due');
  if (!dueAhead && plan.reminders.overdueMorningAt) {
    const after = new Date(Math.max(new Date(item.due).getTime(), now.getTime()));
    jobs.push(reminderJob(item, { kind: 'overdue', at: nextWorkingMorning(after, plan.reminders.overdueMorningAt, timezone) }));
  }

  for (const job of jobs) await addReminderJob(scheduler, job);
  return jobs.length;
}

/** Schedules the next overdue notice after one that just fired at `firedAt`. */
export async function scheduleNextOverdue(scheduler: ReminderScheduler, item: PlanItem, firedAt: Date): Promise<void> {
  const morning = scheduler.config.plan.reminders.overdueMorningAt;
  if (!morning || item.status === 'done') return;
  const at = nextWorkingMorning(firedAt, morning, scheduler.config.timezone);
  await addReminderJob(scheduler, reminderJob(item, { kind: 'overdue', at }));
}

function reminderJob(item: PlanItem, reminder: PlannedReminder): ReminderJobData {
  return { type: 'reminder', week: item.week, number: item.number, kind: reminder.kind, at: reminder.at.toISOString(), due: item.due };
}

async function addReminderJob(scheduler: ReminderScheduler, data: ReminderJobData): Promise<void> {
  // The delay comes from the injected clock, so tests run reminders with short real delays.
  const delay = Math.max(0, new Date(data.at).getTime() - scheduler.clock.now().getTime());
  await scheduler.queue.add('reminder', data, {
    jobId: reminderJobId(data),
    delay,
    attempts: 5,
    backoff: { type: 'exponential', delay: 5000 },
    // Completed ids stay a while, so a late re-schedule of the same id is a no-op.
    removeOnComplete: { age: 14 * 24 * 3600 },
    removeOnFail: { age: 30 * 24 * 3600 },
  });
}

export function parseClockTime(time: string): [number, number] {
  const [hour, minute] = time.split(':').map(Number);
  return [hour ?? 0, minute ?? 0];
}
