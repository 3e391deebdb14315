import type { Locale } from '../config/schema.js';
import { displayStatus, etaMark, type PlanItem } from '../commands/plan-types.js';
import { formatClockTime, formatDue, formatDuration, formatWeek, type WeekKey } from '../commands/plan-week.js';
import type { Block } from './chat-port.js';
import { contextLine, header, section, truncateText } from './blocks.js';
import type { Translate } from './i18n.js';

/**
 * Block Kit for `/plan`: one `table` block with a row per item (number, title, owner,
 * VM, due, status, linked run with ETA mark), a summary line, and a plain-text
 * fallback for notifications and clients without tables.
 */
export interface PlanViewOptions {
  week: WeekKey;
  /** Catalog key of the heading label (`plan.view.this_week`); `<labelKey>_empty` is the note for a week with no items. */
  labelKey: string;
  items: readonly PlanItem[];
  now: Date;
  timeZone: string;
  locale: Locale;
  t: Translate;
}

export interface RenderedMessage {
  text: string;
  blocks: Block[];
}

/** Slack allows 100 rows in a table block; the header row is one of them. */
const MAX_TABLE_ROWS = 99;

export function renderPlan(options: PlanViewOptions): RenderedMessage {
  const { t, items } = options;
  const title = t('plan.view.title', { label: t(options.labelKey), week: formatWeek(options.week, options.timeZone, options.locale) });
  if (items.length === 0) {
    const empty = t(`${options.labelKey}_empty`);
    return { text: `${title}\n${empty}`, blocks: [header(title), section(empty)] };
  }

  const columns = ['number', 'title', 'owner', 'vm', 'due', 'status', 'run'].map((column) => rawCell(t(`plan.view.column.${column}`)));
  const rows = items.slice(0, MAX_TABLE_ROWS).map((item) => [
    rawCell(item.number),
    rawCell(item.title),
    item.owner ? userCell(item.owner) : rawCell(t('plan.none')),
    rawCell(item.vm ?? t('plan.none')),
    rawCell(formatDue(new Date(item.due), options.timeZone, options.locale)),
    rawCell(statusLabel(item, options.now, t)),
    rawCell(runCell(item, options) ?? t('plan.none')),
  ]);

  // NOTE: Slack renders one table block per message, so the plan is one table.
  const table: Block = {
    type: 'table',
    column_settings: [{ align: 'right' }, { is_wrapped: true }],
    rows: [columns, ...rows],
  };
  const summary = summarize(items, options.now, t);
  const lines = items.map((item) => planLine(item, options));
  return { text: [title, ...lines, summary].join('\n'), blocks: [header(title), table, contextLine(summary)] };
}

/** Formats one item as a line of mrkdwn, for the App Home tab and the text fallback. */
export function planLine(item: PlanItem, options: Pick<PlanViewOptions, 'now' | 'timeZone' | 'locale' | 't'>): string {
  const { t } = options;
  const parts = [
    `*${item.number}* ${item.title}`,
    item.owner ? `<@${item.owner}>` : undefined,
    item.vm,
    formatDue(new Date(item.due), options.timeZone, options.locale),
    statusLabel(item, options.now, t),
    runCell(item, options),
  ];
  return parts.filter((part): part is string => part !== undefined && part.length > 0).join(' · ');
}

export function statusLabel(item: PlanItem, now: Date, t: Translate): string {
  return t(`plan.status.${displayStatus(item, now)}`);
}

/** Linked run progress and ETA with its on-track / at-risk / late mark. */
function runCell(item: PlanItem, options: Pick<PlanViewOptions, 'timeZone' | 't'>): string | undefined {
  const { t } = options;
  if (item.status === 'done') return undefined;

  const parts: string[] = [];
  if (item.activeRunId && item.progress && item.progress.maxSteps > 0) {
    parts.push(t('plan.view.run', { run: item.activeRunId, percent: percent(item) }));
  } else if (item.activeRunId) {
    parts.push(`#${item.activeRunId}`);
  }
  if (item.eta) {
    const mark = etaMark(new Date(item.eta), new Date(item.due));
    parts.push(t('plan.view.eta', { eta: formatClockTime(new Date(item.eta), options.timeZone), mark: t(`plan.mark.${mark}`) }));
  }
  if (item.trainedAt) parts.push(t('plan.view.trained'));
  return parts.length > 0 ? parts.join(' ') : undefined;
}

export function percent(item: Pick<PlanItem, 'progress'>): number {
  if (!item.progress || item.progress.maxSteps <= 0) return 0;
  return Math.min(100, Math.floor((item.progress.step / item.progress.maxSteps) * 100));
}

function summarize(items: readonly PlanItem[], now: Date, t: Translate): string {
  const statuses = items.map((item) => displayStatus(item, now));
  const done = statuses.filter((status) => status === 'done').length;
  const overdue = statuses.filter((status) => status === 'overdue').length;
  return t('plan.view.summary', { total: items.length, done, open: items.length - done, overdue });
}

/** Describes what is left of an item for reminders: status, linked run, ETA against due. */
export function describeLeft(item: PlanItem, timeZone: string, locale: Locale, t: Translate): string {
  const parts: string[] = [];
  if (item.trainedAt) parts.push(t('plan.reminder.left_trained'));
  else if (item.activeRunId && item.status === 'in_progress') parts.push(t('plan.reminder.left_run', { run: item.activeRunId, percent: percent(item) }));
  else if (item.status === 'in_progress') parts.push(t('plan.reminder.left_in_progress'));
  else parts.push(t('plan.reminder.left_todo'));

  if (item.eta && item.status !== 'done') {
    const eta = new Date(item.eta);
    const differenceMinutes = (eta.getTime() - new Date(item.due).getTime()) / 60_000;
    const key = differenceMinutes > 0 ? 'plan.reminder.eta_late' : 'plan.reminder.eta_early';
    parts.push(t(key, { eta: formatClockTime(eta, timeZone), diff: formatDuration(Math.abs(differenceMinutes), locale) }));
  }
  return parts.join(' ');
}

function rawCell(text: string): Record<string, unknown> {
  return { type: 'raw_text', text: truncateText(text, 500) };
}

function userCell(userId: string): Record<string, unknown> {
  return { type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'user', user_id: userId }] }] };
}
