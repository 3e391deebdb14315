import { TZDate } from '@date-fns/tz';
import { addDays, getISODay, subDays } from 'date-fns';

import type { Config } from '../config/schema.js';

/**
 * The on-call person, from the weekly rotation in the config and an optional override that
 * lasts until the next hand-over. Pure: the caller reads the override from Redis
 * (`oncall-store.ts`) and passes the clock.
 */

export type OncallConfig = Config['team']['oncall'];

/** A `/oncall set @user` override, stored in Redis until `until`. */
export interface OncallOverride {
  userId: string;
  setBy: string;
  setAt: string;
  /** ISO time of the next hand-over, when the rotation takes over again. */
  until: string;
}

export interface OncallState {
  /** Person on call now: the override if active, else the scheduled person; null with an empty rotation. */
  current: string | null;
  /** Person scheduled for the rotation week now under way (ignores any override). */
  scheduled: string | null;
  /** Person who takes over at the next hand-over. */
  next: string | null;
  /** Last hand-over at or before `now`. */
  handoverAt: Date;
  /** Next hand-over after `now`. */
  nextHandoverAt: Date;
  override: OncallOverride | null;
}

/**
 * Computes the rotation week for `now` in the team's time zone: the week runs from one
 * hand-over (`handoverWeekday` at `handoverTime`) to the next, and `rotationStart` is a
 * day on which `rotation[0]` began. Weeks are counted in calendar days, so a daylight
 * saving change in the zone does not shift the hand-over hour.
 */
export function resolveOncall(
  oncall: OncallConfig,
  timeZone: string,
  now: Date,
  override: OncallOverride | null = null,
): OncallState {
  const { handoverAt, nextHandoverAt } = findHandovers(oncall, timeZone, now);

  const rotation = oncall.rotation;
  let scheduled: string | null = null;
  let next: string | null = null;
  if (rotation.length > 0) {
    const weeks = Math.floor((localDayNumber(handoverAt, timeZone) - dayNumberOf(oncall.rotationStart)) / 7);
    const index = mod(weeks, rotation.length);
    scheduled = rotation[index] ?? null;
    next = rotation[mod(index + 1, rotation.length)] ?? null;
  }

  const activeOverride = override && new Date(override.until).getTime() > now.getTime() ? override : null;
  return {
    current: activeOverride?.userId ?? scheduled,
    scheduled,
    next,
    handoverAt,
    nextHandoverAt,
    override: activeOverride,
  };
}

/**
 * Returns who to page, in order: the person on call now, then the rotation from the
 * scheduled person's successor onwards, each person once. Escalation step `k` pages
 * entry `k`; past the end nobody new is paged.
 */
export function escalationOrder(oncall: OncallConfig, state: OncallState): string[] {
  const order: string[] = [];
  const add = (userId: string | null | undefined) => {
    if (userId && !order.includes(userId)) order.push(userId);
  };

  add(state.current);
  const rotation = oncall.rotation;
  const start = state.scheduled ? rotation.indexOf(state.scheduled) : -1;
  for (let offset = 1; offset <= rotation.length; offset += 1) {
    add(rotation[mod(start + offset, rotation.length)]);
  }
  return order;
}

function findHandovers(oncall: OncallConfig, timeZone: string, now: Date): { handoverAt: Date; nextHandoverAt: Date } {
  const [hours, minutes] = oncall.handoverTime.split(':').map(Number) as [number, number];
  const local = new TZDate(now.getTime(), timeZone);

  let handover: Date = new TZDate(local.getFullYear(), local.getMonth(), local.getDate(), hours, minutes, timeZone);
  const daysSince = mod(getISODay(local) - oncall.handoverWeekday, 7);
  handover = subDays(handover, daysSince);
  if (handover.getTime() > now.getTime()) handover = subDays(handover, 7);

  return { handoverAt: new Date(handover.getTime()), nextHandoverAt: new Date(addDays(handover, 7).getTime()) };
}

/** Days since 1970-01-01 of the calendar date that `date` falls on in `timeZone`. */
function localDayNumber(date: Date, timeZone: string): number {
  const local = new TZDate(date.getTime(), timeZone);
  return Date.UTC(local.getFullYear(), local.getMonth(), local.getDate()) / 86_400_000;
}

function dayNumberOf(isoDate: string): number {
  const [year, month, day] = isoDate.split('-').map(Number) as [number, number, number];
  return Date.UTC(year, month - 1, day) / 86_400_000;
}

function mod(value: number, divisor: number): number {
  return ((value % divisor) + divisor) % divisor;
}
