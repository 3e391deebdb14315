import { TZDate } from '@date-fns/tz';
import { addDays, addWeeks, getISOWeek, getISOWeekYear, startOfISOWeek } from 'date-fns';

import type { Locale } from '../config/schema.js';

/**
 * Plan weeks are ISO weeks (Monday to Sunday) in the team's time zone, keyed
 * `2026-W49`. All arithmetic goes through `TZDate` so that days and hours stay
 * wall-clock days and hours across daylight-saving changes.
 */
export type WeekKey = string;

const WEEK_KEY = /^(\d{4})-W(\d{2})$/;

export function weekKeyOf(instant: Date, timeZone: string): WeekKey {
  const local = new TZDate(instant.getTime(), timeZone);
  return `${getISOWeekYear(local)}-W${String(getISOWeek(local)).padStart(2, '0')}`;
}

/** Returns Monday 00:00 of the week in the time zone. */
export function weekStart(week: WeekKey, timeZone: string): TZDate {
  const match = WEEK_KEY.exec(week);
  if (!match) throw new Error(`invalid week key "${week}", expected YYYY-Www`);
  const year = Number(match[1]);
  const weekNumber = Number(match[2]);

  // January 4th is always in ISO week 1.
  const firstMonday = startOfISOWeek(new TZDate(year, 0, 4, timeZone));
  return addWeeks(firstMonday, weekNumber - 1);
}

export function shiftWeek(week: WeekKey, weeks: number, timeZone: string): WeekKey {
  // Noon on Monday keeps clear of any midnight daylight-saving change.
  const monday = weekStart(week, timeZone);
  const noon = new TZDate(monday.getFullYear(), monday.getMonth(), monday.getDate(), 12, timeZone);
  return weekKeyOf(addWeeks(noon, weeks), timeZone);
}

/** Returns the seven days of the week as local midnights, Monday first. */
export function weekDays(week: WeekKey, timeZone: string): TZDate[] {
  const monday = weekStart(week, timeZone);
  return Array.from({ length: 7 }, (_, index) => addDays(monday, index));
}

const ZH_WEEKDAYS = ['周日', '周一', '周二', '周三', '周四', '周五', '周六'];
const EN_WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const EN_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Formats an instant as the team reads it: `12月2日 周三 18:00` or `Wed Dec 2 18:00`. */
export function formatDue(instant: Date, timeZone: string, locale: Locale, withYear = false): string {
  const local = new TZDate(instant.getTime(), timeZone);
  const time = `${String(local.getHours()).padStart(2, '0')}:${String(local.getMinutes()).padStart(2, '0')}`;
  const year = local.getFullYear();
  if (locale === 'en') {
    const date = `${EN_WEEKDAYS[local.getDay()]} ${EN_MONTHS[local.getMonth()]} ${local.getDate()}`;
    return withYear ? `${date} ${year} ${time}` : `${date} ${time}`;
  }
  const date = `${local.getMonth() + 1}月${local.getDate()}日 ${ZH_WEEKDAYS[local.getDay()]}`;
  return withYear ? `${year}年${date} ${time}` : `${date} ${time}`;
}

/** Formats a clock time only: `20:10`. */
export function formatClockTime(instant: Date, timeZone: string): string {
  const local = new TZDate(instant.getTime(), timeZone);
  return `${String(local.getHours()).padStart(2, '0')}:${String(local.getMinutes()).padStart(2, '0')}`;
}

/** Formats a week for headings: `2026-W49（11月30日–12月6日）` or `2026-W49 (Nov 30 – Dec 6)`. */
export function formatWeek(week: WeekKey, timeZone: string, locale: Locale): string {
  const days = weekDays(week, timeZone);
  const first = days[0]!;
  const last = days[6]!;
  if (locale === 'en') {
    return `${week} (${EN_MONTHS[first.getMonth()]} ${first.getDate()} – ${EN_MONTHS[last.getMonth()]} ${last.getDate()})`;
  }
  return `${week}（${first.getMonth() + 1}月${first.getDate()}日–${last.getMonth() + 1}月${last.getDate()}日）`;
}

/** Formats a duration in minutes as `2 小时 10 分` or `2 h 10 min`. */
export function formatDuration(minutes: number, locale: Locale): string {
  const total = Math.max(0, Math.round(minutes));
  const days = Math.floor(total / 1440);
  const hours = Math.floor((total % 1440) / 60);
  const rest = total % 60;
  const parts: string[] = [];
  if (locale === 'en') {
    if (days > 0) parts.push(`${days} d`);
    if (hours > 0) parts.push(`${hours} h`);
    if (rest > 0 || parts.length === 0) parts.push(`${rest} min`);
    return parts.join(' ');
  }
  if (days > 0) parts.push(`${days} 天`);
  if (hours > 0) parts.push(`${hours} 小时`);
  if (rest > 0 || parts.length === 0) parts.push(`${rest} 分`);
  return parts.join(' ');
}
