/**
 * VM activity in Redis, shared by every bot and worker process:
 *
 * - `<prefix>:vm:<name>:last-active`: epoch ms of the last time the VM was seen busy
 *   (a run or deployment active, a login session open) or someone pressed "keep running".
 * - `<prefix>:vm:<name>:warning`: JSON of the pending auto-stop warning, if any.
 * - `<prefix>:vm:<name>:power`: sorted set of power events (`started`/`deallocated`),
 *   scored by epoch ms, for the hours a VM spent deallocated this week. Events older than
 *   five weeks are trimmed on write.
 */
import { TZDate } from '@date-fns/tz';
import { startOfWeek } from 'date-fns';
import type { Redis } from 'ioredis';

import type { Translate } from '../bot/i18n.js';
import type { Config } from '../config/schema.js';
import type { PowerState, VmControl } from '../remote/vm-control.js';
import type { Clock } from './clock.js';

export type PowerEventKind = 'started' | 'deallocated';

export interface PowerEvent {
  kind: PowerEventKind;
  at: Date;
  /** Actor: a Slack user id, `auto-stop`, `bot`, or `external`. */
  by: string;
}

/** An auto-stop warning posted in the channel, waiting for its grace period to end. */
export interface AutoStopWarning {
  /** Random id carried by the keep-running button, so an old button cannot cancel a newer warning. */
  id: string;
  channel: string;
  ts: string;
  /** ISO time after which the VM is deallocated. */
  deallocateAt: string;
  idleSince: string;
}

const RETENTION_MS = 35 * 24 * 3600_000;

export class VmActivityStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(vmName: string, part: 'last-active' | 'warning' | 'power'): string {
    return `${this.prefix}:vm:${vmName}:${part}`;
  }

  /** Records that the VM was busy at `at`; an earlier time never replaces a later one. */
  async markActive(vmName: string, at: Date): Promise<void> {
    const key = this.key(vmName, 'last-active');
    // GET then SET can race with another process; the Lua script keeps the maximum.
    await this.redis.eval(
      "local current = tonumber(redis.call('GET', KEYS[1]) or '0') if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end return 1",
      1,
      key,
      String(at.getTime()),
    );
  }

  async lastActiveAt(vmName: string): Promise<Date | undefined> {
    const value = await this.redis.get(this.key(vmName, 'last-active'));
    return value === null ? undefined : new Date(Number(value));
  }

  /** Stores a warning unless one is pending already; returns false when one was. */
  async setWarning(vmName: string, warning: AutoStopWarning): Promise<boolean> {
    const stored = await this.redis.set(this.key(vmName, 'warning'), JSON.stringify(warning), 'NX');
    return stored === 'OK';
  }

  /** Overwrites the pending warning if it is still the one with `warning.id` (to add the posted message ts). */
  async replaceWarning(vmName: string, warning: AutoStopWarning): Promise<boolean> {
    const replaced = await this.redis.eval(
      "local v = redis.call('GET', KEYS[1]) if not v or cjson.decode(v).id ~= ARGV[1] then return 0 end redis.call('SET', KEYS[1], ARGV[2]) return 1",
      1,
      this.key(vmName, 'warning'),
      warning.id,
      JSON.stringify(warning),
    );
    return replaced === 1;
  }

  async getWarning(vmName: string): Promise<AutoStopWarning | undefined> {
    const value = await this.redis.get(this.key(vmName, 'warning'));
    return value === null ? undefined : (JSON.parse(value) as AutoStopWarning);
  }

  /**
   * Removes the pending warning, only if its id is `warningId` when given, so two people
   * pressing the button or a check racing the button act once. Returns the removed warning.
   */
  async takeWarning(vmName: string, warningId?: string): Promise<AutoStopWarning | undefined> {
    const key = this.key(vmName, 'warning');
    const value = (await this.redis.eval(
      "local v = redis.call('GET', KEYS[1]) if not v then return false end if ARGV[1] ~= '' and cjson.decode(v).id ~= ARGV[1] then return false end redis.call('DEL', KEYS[1]) return v",
      1,
      key,
      warningId ?? '',
    )) as string | null;
    return value ? (JSON.parse(value) as AutoStopWarning) : undefined;
  }

  async recordPowerEvent(vmName: string, event: PowerEvent): Promise<void> {
    const key = this.key(vmName, 'power');
    const time = event.at.getTime();
    await this.redis
      .multi()
      .zadd(key, time, JSON.stringify({ kind: event.kind, at: time, by: event.by }))
      .zremrangebyscore(key, '-inf', time - RETENTION_MS)
      .exec();
  }

  /** Power events with `from <= at < to`, oldest first, plus the last event before `from`. */
  async powerEvents(vmName: string, from: Date, to: Date): Promise<{ before?: PowerEvent; events: PowerEvent[] }> {
    const key = this.key(vmName, 'power');
    const [beforeRaw, eventsRaw] = await Promise.all([
      this.redis.zrevrangebyscore(key, `(${from.getTime()}`, '-inf', 'LIMIT', 0, 1),
      this.redis.zrangebyscore(key, from.getTime(), `(${to.getTime()}`),
    ]);
    const decode = (raw: string): PowerEvent => {
      const parsed = JSON.parse(raw) as { kind: PowerEventKind; at: number; by: string };
      return { kind: parsed.kind, at: new Date(parsed.at), by: parsed.by };
    };
    const before = beforeRaw[0] === undefined ? undefined : decode(beforeRaw[0]);
    return { ...(before ? { before } : {}), events: eventsRaw.map(decode) };
  }

  /** Hours the VM spent deallocated between `from` and `to`, from the recorded events. */
  async hoursDeallocated(vmName: string, from: Date, to: Date): Promise<number> {
    const { before, events } = await this.powerEvents(vmName, from, to);
    return deallocatedHours(before, events, from, to);
  }
}

/**
 * Sums the time between each deallocation and the next start (or `to`), clipped to
 * [from, to). A deallocation before `from` with no start since counts from `from`.
 */
export function deallocatedHours(before: PowerEvent | undefined, events: readonly PowerEvent[], from: Date, to: Date): number {
  let deallocatedSince: number | undefined = before?.kind === 'deallocated' ? from.getTime() : undefined;
  let totalMs = 0;

  for (const event of events) {
    const at = Math.max(event.at.getTime(), from.getTime());
    if (event.kind === 'deallocated') {
      deallocatedSince ??= at;
    } else if (deallocatedSince !== undefined) {
      totalMs += at - deallocatedSince;
      deallocatedSince = undefined;
    }
  }
  if (deallocatedSince !== undefined) totalMs += Math.max(0, to.getTime() - deallocatedSince);
  return totalMs / 3600_000;
}

/** Monday 00:00 of the week containing `now`, in `timeZone`. */
export function startOfTeamWeek(now: Date, timeZone: string): Date {
  return new Date(startOfWeek(new TZDate(now.getTime(), timeZone), { weekStartsOn: 1 }).getTime());
}

export interface WeeklySavings {
  /** Hours deallocated since Monday 00:00 in the team's time zone. */
  hours: number;
  /** `hours` times `vms.<name>.hourlyCost`, when that is configured. */
  cost?: number;
}

/** Hours `vmName` spent deallocated this week (Monday start, team time zone) and their cost. */
export async function weeklySavings(store: VmActivityStore, config: Config, vmName: string, now: Date): Promise<WeeklySavings> {
  const hours = await store.hoursDeallocated(vmName, startOfTeamWeek(now, config.timezone), now);
  const hourlyCost = config.vms[vmName]?.hourlyCost;
  return hourlyCost === undefined ? { hours } : { hours, cost: hours * hourlyCost };
}

/**
 * A VmControl that records each start and deallocation it performs in the activity store,
 * so savings count every path (worker, `/vm`, auto-stop). It also marks a started VM
 * active, so the idle timer starts from the boot rather than from before it.
 */
export class RecordingVmControl implements VmControl {
  constructor(
    private readonly inner: VmControl,
    private readonly store: VmActivityStore,
    private readonly clock: Clock,
    /** Actor recorded when the caller names none. */
    private readonly defaultActor = 'bot',
  ) {}

  isManaged(vmName: string): boolean {
    return this.inner.isManaged(vmName);
  }

  getPowerState(vmName: string): Promise<PowerState> {
    return this.inner.getPowerState(vmName);
  }

  async start(vmName: string, by = this.defaultActor): Promise<void> {
    await this.inner.start(vmName);
    const at = this.clock.now();
    await this.store.recordPowerEvent(vmName, { kind: 'started', at, by });
    await this.store.markActive(vmName, at);
  }

  async deallocate(vmName: string, by = this.defaultActor): Promise<void> {
    await this.inner.deallocate(vmName);
    await this.store.recordPowerEvent(vmName, { kind: 'deallocated', at: this.clock.now(), by });
  }
}

/** Formats an optional amount of money with two decimals, for the savings messages. */
export function formatSavedCost(cost: number | undefined, t: Translate): string {
  return cost === undefined ? '' : t('vm.cost.saved', { amount: cost.toFixed(2) });
}

/** Hours with one decimal, as shown in savings messages. */
export function formatHours(hours: number): string {
  return (Math.round(hours * 10) / 10).toFixed(1);
}
