/**
 * The weekly digest: Monday morning the week's plan, Friday afternoon what was done,
 * what slipped and by how much. Both are BullMQ job schedulers with a cron pattern in
 * the team's time zone, upserted by id, so every bot process that starts upserts the
 * same two schedulers and they keep their local time across daylight-saving changes.
 */
import type { Queue } from 'bullmq';

import { header, section } from '../bot/blocks.js';
import type { Translate } from '../bot/i18n.js';
import { renderPlan, type RenderedMessage } from '../bot/plan-view.js';
import type { Config, Locale } from '../config/schema.js';
import type { PlanItem } from '../commands/plan-types.js';
import { formatDue, formatDuration, formatWeek, type WeekKey } from '../commands/plan-week.js';
import { parseClockTime } from './plan-reminders.js';

export type DigestKind = 'monday' | 'friday';

export interface DigestJobData {
  type: 'digest';
  kind: DigestKind;
}

export const DIGEST_SCHEDULER_IDS: Readonly<Record<DigestKind, string>> = {
  monday: 'plan-digest-monday',
  friday: 'plan-digest-friday',
};

/** Creates, updates or removes (when its time is null) each digest's job scheduler. */
export async function upsertDigestSchedulers(queue: Queue, config: Pick<Config, 'plan' | 'timezone'>): Promise<void> {
  const times: Record<DigestKind, string | null> = { monday: config.plan.digest.mondayAt, friday: config.plan.digest.fridayAt };
  const weekdays: Record<DigestKind, number> = { monday: 1, friday: 5 };

  for (const kind of ['monday', 'friday'] as const) {
    const time = times[kind];
    if (time === null) {
      await queue.removeJobScheduler(DIGEST_SCHEDULER_IDS[kind]);
      continue;
    }
    const [hour, minute] = parseClockTime(time);
    const data: DigestJobData = { type: 'digest', kind };
    await queue.upsertJobScheduler(
      DIGEST_SCHEDULER_IDS[kind],
      { pattern: `${minute} ${hour} * * ${weekdays[kind]}`, tz: config.timezone },
      { name: 'digest', data, opts: { removeOnComplete: { age: 30 * 24 * 3600 }, removeOnFail: { age: 30 * 24 * 3600 } } },
    );
  }
}

export interface DigestOptions {
  kind: DigestKind;
  week: WeekKey;
  items: readonly PlanItem[];
  now: Date;
  timeZone: string;
  locale: Locale;
  t: Translate;
}

export function buildDigest(options: DigestOptions): RenderedMessage {
  if (options.kind === 'monday') {
    const plan = renderPlan({ ...options, labelKey: 'plan.view.this_week' });
    const title = options.t('plan.digest.monday_title', { week: formatWeek(options.week, options.timeZone, options.locale) });
    return { text: plan.text.replace(/^[^\n]*/, title), blocks: [header(title), ...plan.blocks.slice(1)] };
  }
  return buildReview(options);
}

/** Friday's review: done (and how late), slipped (and by how much so far), not yet due. */
function buildReview(options: DigestOptions): RenderedMessage {
  const { t, now, timeZone, locale } = options;
  const title = t('plan.digest.friday_title', { week: formatWeek(options.week, timeZone, locale) });
  if (options.items.length === 0) {
    const text = `${title}\n${t('plan.digest.empty')}`;
    return { text, blocks: [section(text)] };
  }

  const owner = (item: PlanItem): string => (item.owner ? `<@${item.owner}>` : t('plan.reminder.no_owner'));
  const due = (item: PlanItem): string => formatDue(new Date(item.due), timeZone, locale);
  const lateBy = (item: PlanItem, until: Date): string => formatDuration((until.getTime() - new Date(item.due).getTime()) / 60_000, locale);

  const done = options.items.filter((item) => item.status === 'done');
  const slipped = options.items.filter((item) => item.status !== 'done' && new Date(item.due) < now);
  const open = options.items.filter((item) => item.status !== 'done' && new Date(item.due) >= now);

  const doneLines = done.map((item) => {
    const doneAt = new Date(item.doneAt ?? item.updatedAt);
    const params = { number: item.number, title: item.title, owner: owner(item) };
    return doneAt > new Date(item.due) ? t('plan.digest.done_late_item', { ...params, late: lateBy(item, doneAt) }) : t('plan.digest.done_item', params);
  });
  const slippedLines = slipped.map((item) =>
    t('plan.digest.slipped_item', { number: item.number, title: item.title, owner: owner(item), due: due(item), late: lateBy(item, now) }),
  );
  const openLines = open.map((item) => t('plan.digest.open_item', { number: item.number, title: item.title, owner: owner(item), due: due(item) }));

  const sections = [
    [t('plan.digest.done', { count: done.length }), ...doneLines],
    [t('plan.digest.slipped', { count: slipped.length }), ...slippedLines],
    ...(open.length > 0 ? [[t('plan.digest.open', { count: open.length }), ...openLines]] : []),
  ].map((lines) => lines.join('\n'));

  return {
    text: [title, ...sections].join('\n\n'),
    blocks: [header(title), ...sections.map(section)],
  };
}
