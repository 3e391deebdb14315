import { TZDate } from '@date-fns/tz';
import * as chrono from 'chrono-node';
import { addDays, addWeeks, startOfISOWeek, subMonths } from 'date-fns';

/**
 * Due-date phrases as the team writes them, read in the team's time zone.
 *
 * Chinese weekday phrases, weekday ranges and relative days go through the small
 * grammar below rather than chrono-node's `zh.hans` locale. chrono-node 2.10 reads
 * `周二、三` as Tuesday only, resolves `礼拜五` to the past Friday, and places
 * `明天` and `星期三 18:00` in the process time zone instead of the given one.
 * English weekdays use the same grammar so that `monday` and `周一` mean the same day
 * of this ISO week. Other English phrases and full dates (`Dec 8 6pm`, `8 December`)
 * go to `chrono.en`, and `TZDate` places its calendar fields in the time zone.
 */
export interface DueOptions {
  now: Date;
  timeZone: string;
  /** Hour (0-23) a day given without a time is due at. */
  dueHour: number;
  /** Any instant in the week that `周一` and `monday` refer to; defaults to `now`. */
  weekOf?: Date;
  /** Accepts instants before `now` (plan import, where the message's own week is meant). */
  allowPast?: boolean;
}

export type DueReading =
  | { ok: true; due: Date; /** First day of a range, at local midnight. */ rangeStart?: Date }
  | {
      ok: false;
      reason: 'unrecognized' | 'past' | 'ambiguous' | 'invalid_date';
      /** The phrase as typed. */
      text: string;
      /** Instant the phrase was read as, when it was read at all. */
      readAs?: Date;
      /** A phrase that probably means what was intended (`下周一`). */
      suggestion?: string;
    };

interface CalendarDay {
  year: number;
  month: number; // 1-12
  day: number;
}

interface TimeOfDay {
  hour: number;
  minute: number;
}

interface Phrase {
  day: CalendarDay;
  rangeStart?: CalendarDay;
  time?: TimeOfDay;
  /** Set for a bare weekday of this week, so a past reading can suggest next week. */
  nextWeekSuggestion?: string;
}

type Recognized = Phrase | { ambiguous: true; readAs?: Phrase } | undefined;

const ZH_DAY: Readonly<Record<string, number>> = { 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 日: 7, 天: 7, 七: 7, '1': 1, '2': 2, '3': 3, '4': 4, '5': 5, '6': 6, '7': 7 };
const EN_DAY: Readonly<Record<string, number>> = {
  mon: 1, monday: 1, tue: 2, tues: 2, tuesday: 2, wed: 3, weds: 3, wednesday: 3, thu: 4, thur: 4, thurs: 4, thursday: 4,
  fri: 5, friday: 5, sat: 6, saturday: 6, sun: 7, sunday: 7,
};

const ZH_WEEKDAY_WORD = '(?:周|週|星期|礼拜|禮拜)';
const ZH_DAY_CHAR = '([一二三四五六日天七1-7])';
const RANGE_JOIN = '\\s*(?:、|，|,|至|到|-|－|—|–|~|～)\\s*';
const EN_DAY_WORD = '(mon(?:day)?|tue(?:s|sday)?|wed(?:s|nesday)?|thu(?:r|rs|rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)';

const ZH_WEEKDAY = new RegExp(`^(本|这个?|這個?|下下个?|下个?|下個?)?${ZH_WEEKDAY_WORD}${ZH_DAY_CHAR}(?:${RANGE_JOIN}${ZH_WEEKDAY_WORD}?${ZH_DAY_CHAR})?`);
const EN_WEEKDAY = new RegExp(`^(this\\s+|next\\s+)?${EN_DAY_WORD}\\b(?:\\s*(?:-|–|to|through|thru|and)\\s*${EN_DAY_WORD}\\b)?`, 'i');
const ZH_RELATIVE: ReadonlyArray<[RegExp, number]> = [
  [/^大后天|^大後天/, 3],
  [/^今天|^今日|^今晚/, 0],
  [/^明天|^明日|^明晚/, 1],
  [/^后天|^後天/, 2],
];
const EN_RELATIVE: ReadonlyArray<[RegExp, number]> = [
  [/^the\s+day\s+after\s+tomorrow\b|^day\s+after\s+tomorrow\b/i, 2],
  [/^today\b|^tonight\b|^eod\b/i, 0],
  [/^tomorrow\b/i, 1],
];
const ISO_DATE = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:T|\s+|$)/;
const ZH_DATE = /^(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号號]?/;

const ZH_TIME = /^(?:在|于)?\s*(凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|晚)?\s*(\d{1,2})\s*(?:[:：](\d{2})|点|點|时)(?:\s*(半|(\d{1,2})\s*分?))?/;
const EN_TIME = /^(?:at\s+|by\s+|@\s*)?(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?(?![\d:])/i;

/** Words around the date that carry no date meaning: `周一内完成`, `by friday`, `截止周三`. */
function stripFiller(text: string): string {
  let result = text.trim().normalize('NFKC').replace(/\s+/g, ' ');
  const trailing = /(?:之前|以前|前|以内|之内|内|為止|为止|截止|完成|交付|搞定|做完|结束|左右|\s|[。.!！])+$/u;
  const leading = /^(?:due|by|before|on|until|截止到|截止|截至|到|在|于)\s*/iu;
  for (let pass = 0; pass < 3; pass += 1) {
    result = result.replace(trailing, '').replace(leading, '').trim();
  }
  return result;
}

export function parseDue(input: string, options: DueOptions): DueReading {
  const text = input.trim();
  const cleaned = stripFiller(text);
  const recognized = cleaned.length > 0 ? recognize(cleaned, options) : undefined;

  if (recognized === undefined) return { ok: false, reason: 'unrecognized', text };
  if ('ambiguous' in recognized) {
    const readAs = recognized.readAs ? toInstant(recognized.readAs, options) : undefined;
    return { ok: false, reason: 'ambiguous', text, readAs: readAs ?? undefined };
  }

  const due = toInstant(recognized, options);
  if (due === undefined) return { ok: false, reason: 'invalid_date', text };
  if (!options.allowPast && due.getTime() <= options.now.getTime()) {
    return { ok: false, reason: 'past', text, readAs: due, suggestion: recognized.nextWeekSuggestion };
  }

  const rangeStart = recognized.rangeStart
    ? toInstant({ day: recognized.rangeStart, time: { hour: 0, minute: 0 } }, options)
    : undefined;
  return rangeStart ? { ok: true, due, rangeStart } : { ok: true, due };
}

function recognize(text: string, options: DueOptions): Recognized {
  const today = localDay(options.now, options.timeZone);
  const monday = startOfISOWeek(new TZDate((options.weekOf ?? options.now).getTime(), options.timeZone));

  const weekday = matchWeekday(text, monday);
  if (weekday) return withTime(weekday.phrase, text.slice(weekday.length));

  for (const [pattern, offset] of [...ZH_RELATIVE, ...EN_RELATIVE]) {
    const match = pattern.exec(text);
    if (match) return withTime({ day: shiftDay(today, offset) }, text.slice(match[0].length));
  }

  const iso = ISO_DATE.exec(text);
  if (iso) {
    const day = { year: Number(iso[1]), month: Number(iso[2]), day: Number(iso[3]) };
    return withTime({ day }, text.slice(iso[0].length));
  }

  const zh = ZH_DATE.exec(text);
  if (zh) {
    const month = Number(zh[2]);
    const dayOfMonth = Number(zh[3]);
    const year = zh[1] ? Number(zh[1]) : inferYear(month, dayOfMonth, options);
    return withTime({ day: { year, month, day: dayOfMonth } }, text.slice(zh[0].length));
  }

  // A time alone (`18:00`, `下午3点`, `6pm`) means today.
  const onlyTime = withTime({ day: today }, text);
  if (onlyTime && 'day' in onlyTime && onlyTime.time) return onlyTime;
  if (onlyTime && 'ambiguous' in onlyTime) return onlyTime;

  return recognizeWithChrono(text, options);
}

function matchWeekday(text: string, monday: TZDate): { phrase: Phrase; length: number } | undefined {
  const zh = ZH_WEEKDAY.exec(text);
  const en = zh ? undefined : EN_WEEKDAY.exec(text);
  const match = zh ?? en;
  if (!match) return undefined;

  const prefix = (match[1] ?? '').trim().toLowerCase();
  const first = zh ? ZH_DAY[match[2]!] : EN_DAY[match[2]!.toLowerCase()];
  const lastToken = match[3];
  let last = first;
  if (lastToken !== undefined) last = zh ? ZH_DAY[lastToken] : EN_DAY[lastToken.toLowerCase()];
  if (first === undefined || last === undefined) return undefined;

  let weeks = 0;
  if (prefix.startsWith('下下')) weeks = 2;
  else if (prefix.startsWith('下') || prefix === 'next') weeks = 1;

  const startDate = addDays(addWeeks(monday, weeks), first - 1);
  // `周五到周一` runs into the following week.
  const endOffset = last >= first ? last - first : last + 7 - first;
  const endDate = addDays(startDate, endOffset);

  const phrase: Phrase = { day: calendarDay(endDate) };
  if (lastToken !== undefined) phrase.rangeStart = calendarDay(startDate);
  if (weeks === 0) {
    const rest = text.slice(match[0].length);
    phrase.nextWeekSuggestion = zh ? `下${text.slice((match[1] ?? '').length, match[0].length)}${rest}` : `next ${match[0].replace(/^this\s+/i, '')}${rest}`;
  }
  return { phrase, length: match[0].length };
}

/** Reads an optional time after the day; anything else left over makes the phrase unrecognized. */
function withTime(phrase: Phrase, rest: string): Recognized {
  const remaining = rest.replace(/^[\s,，的]+/u, '').replace(/^(?:at|by)\s+/i, '');
  if (remaining.length === 0) return phrase;

  const zh = ZH_TIME.exec(remaining);
  if (zh && zh[0].trim().length === remaining.trim().length) {
    const period = zh[1];
    let hour = Number(zh[2]);
    let minute = 0;
    if (zh[3] !== undefined) minute = Number(zh[3]);
    else if (zh[4] === '半') minute = 30;
    else if (zh[5] !== undefined) minute = Number(zh[5]);
    const colonForm = zh[3] !== undefined;
    if (period && /下午|傍晚|晚上|晚/.test(period) && hour < 12) hour += 12;
    if (period === '中午' && hour < 3) hour += 12;
    if (hour > 23 || minute > 59) return undefined;
    const time = { hour, minute };
    // `6点` with no 上午/下午 is as likely 06:00 as 18:00; a colon time is 24-hour.
    if (!period && !colonForm && hour >= 1 && hour <= 7) return { ambiguous: true, readAs: { ...phrase, time } };
    return { ...phrase, time };
  }

  const en = EN_TIME.exec(remaining);
  if (en && en[0].trim().length === remaining.trim().length) {
    let hour = Number(en[1]);
    const minute = en[2] !== undefined ? Number(en[2]) : 0;
    const meridiem = en[3]?.toLowerCase().replace(/\./g, '');
    if (meridiem === 'pm' && hour < 12) hour += 12;
    if (meridiem === 'am' && hour === 12) hour = 0;
    if (hour > 23 || minute > 59) return undefined;
    const time = { hour, minute };
    if (!meridiem && en[2] === undefined && hour >= 1 && hour <= 7) return { ambiguous: true, readAs: { ...phrase, time } };
    return { ...phrase, time };
  }
  return undefined;
}

function recognizeWithChrono(text: string, options: DueOptions): Recognized {
  // chrono reads relative words against the process's local calendar, so the reference
  // is the team's wall-clock time expressed as a process-local Date.
  const local = new TZDate(options.now.getTime(), options.timeZone);
  const reference = new Date(local.getFullYear(), local.getMonth(), local.getDate(), local.getHours(), local.getMinutes());
  const results = chrono.en.parse(text, reference, { forwardDate: true });
  const result = results[0];
  if (results.length !== 1 || result === undefined) return undefined;
  if (result.index !== 0 || result.text.length < text.replace(/[.\s]+$/, '').length) return undefined;

  const component = result.end ?? result.start;
  const day = { year: component.get('year')!, month: component.get('month')!, day: component.get('day')! };
  const phrase: Phrase = { day };
  if (result.end) {
    phrase.rangeStart = { year: result.start.get('year')!, month: result.start.get('month')!, day: result.start.get('day')! };
  }
  if (component.isCertain('hour')) {
    phrase.time = { hour: component.get('hour')!, minute: component.get('minute') ?? 0 };
  }
  return phrase;
}

/** Picks the year of a month and day: this year, unless that is months past (a plan for early next year). */
function inferYear(month: number, day: number, options: DueOptions): number {
  const today = localDay(options.now, options.timeZone);
  const candidate = new Date(Date.UTC(today.year, month - 1, day));
  const cutoff = subMonths(new Date(Date.UTC(today.year, today.month - 1, today.day)), 2);
  return candidate < cutoff ? today.year + 1 : today.year;
}

/** Places a phrase in the time zone; undefined for a calendar day that does not exist (2月30日). */
function toInstant(phrase: Phrase, options: DueOptions): Date | undefined {
  const { year, month, day } = phrase.day;
  const time = phrase.time ?? { hour: options.dueHour, minute: 0 };
  const local = new TZDate(year, month - 1, day, time.hour, time.minute, options.timeZone);
  if (local.getFullYear() !== year || local.getMonth() !== month - 1 || local.getDate() !== day) return undefined;
  return new Date(local.getTime());
}

function localDay(instant: Date, timeZone: string): CalendarDay {
  return calendarDay(new TZDate(instant.getTime(), timeZone));
}

function calendarDay(date: Date): CalendarDay {
  return { year: date.getFullYear(), month: date.getMonth() + 1, day: date.getDate() };
}

function shiftDay(day: CalendarDay, days: number): CalendarDay {
  const shifted = new Date(Date.UTC(day.year, day.month - 1, day.day + days));
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}
