/**
 * The weekly plan in Redis. Each week is a hash `<prefix>:plan:week:<week>` from item
 * number to item JSON; `<prefix>:plan:weeks` lists the weeks that have items, and
 * `<prefix>:plan:run:<id>` points a run at the item it is linked to.
 *
 * Item writes are compare-and-set in one Lua script, so two processes changing the
 * same item (a run update and `/plan done`) never lose each other's write.
 */
import { randomBytes } from 'node:crypto';

import type { Redis } from 'ioredis';

import { comparePlanNumbers, type PlanItem, type PlanItemDraft } from '../commands/plan-types.js';
import type { WeekKey } from '../commands/plan-week.js';
import type { Clock } from './clock.js';

export interface PlanKeys {
  week(week: WeekKey): string;
  weeks: string;
  runLink(runId: string): string;
  /** A pending `/plan import`, waiting for the confirm button. */
  importDraft(id: string): string;
  /** Once-only marker of a reminder, digest or warning, set with NX. */
  once(key: string): string;
  /** Users whose App Home tab shows the plan, refreshed when it changes. */
  homeViewers: string;
}

export function planKeys(prefix: string): PlanKeys {
  return {
    week: (week) => `${prefix}:plan:week:${week}`,
    weeks: `${prefix}:plan:weeks`,
    runLink: (runId) => `${prefix}:plan:run:${runId}`,
    importDraft: (id) => `${prefix}:plan:import:${id}`,
    once: (key) => `${prefix}:plan:once:${key}`,
    homeViewers: `${prefix}:plan:home-viewers`,
  };
}

export interface PlanItemRef {
  week: WeekKey;
  number: string;
}

/** Once-only markers and import drafts are kept this long. */
const ONCE_TTL_SECONDS = 60 * 24 * 3600;
const IMPORT_TTL_SECONDS = 24 * 3600;
const MAX_CAS_ATTEMPTS = 50;

// KEYS: week hash, weeks set. ARGV: number, expected JSON ('' for absent), new JSON ('' deletes), week.
const COMPARE_AND_SET = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  redis.call('SADD', KEYS[2], ARGV[4])
end
return 1
`;

export class PlanStore {
  readonly keys: PlanKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly clock: Clock,
  ) {
    this.keys = planKeys(prefix);
  }

  /** Items of a week in plan order (1, 2.1, 2.2, 3). */
  async list(week: WeekKey): Promise<PlanItem[]> {
    const values = await this.redis.hvals(this.keys.week(week));
    return values.map((value) => JSON.parse(value) as PlanItem).sort((a, b) => comparePlanNumbers(a.number, b.number));
  }

  async get(ref: PlanItemRef): Promise<PlanItem | undefined> {
    const value = await this.redis.hget(this.keys.week(ref.week), ref.number);
    return value === null ? undefined : (JSON.parse(value) as PlanItem);
  }

  /** Weeks that have or had items, oldest first. */
  async listWeeks(): Promise<WeekKey[]> {
    return (await this.redis.smembers(this.keys.weeks)).sort();
  }

  /** Adds an item; returns undefined when the week already has that number. */
  async add(week: WeekKey, draft: PlanItemDraft, createdBy: string): Promise<PlanItem | undefined> {
    const item = this.newItem(week, draft, createdBy);
    const written = await this.compareAndSet(week, draft.number, '', JSON.stringify(item));
    return written ? item : undefined;
  }

  /** Adds an item numbered after the week's last top-level number. */
  async addNumbered(week: WeekKey, draft: Omit<PlanItemDraft, 'number'>, createdBy: string): Promise<PlanItem> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt += 1) {
      const numbers = await this.redis.hkeys(this.keys.week(week));
      const top = numbers.reduce((max, number) => Math.max(max, Number(number.split('.')[0]) || 0), 0);
      const item = await this.add(week, { ...draft, number: String(top + 1) }, createdBy);
      if (item) return item;
    }
    throw new Error(`could not number a new plan item in ${week}: too many concurrent writes`);
  }

  /**
   * Saves imported drafts. An item whose number already exists keeps its status and
   * run links and takes the draft's title, due, owner, VM and recipe.
   */
  async saveImported(week: WeekKey, drafts: readonly PlanItemDraft[], createdBy: string): Promise<PlanItem[]> {
    const saved: PlanItem[] = [];
    for (const draft of drafts) {
      const existing = await this.update({ week, number: draft.number }, (item) => ({ ...item, ...draft }));
      saved.push(existing ?? (await this.add(week, draft, createdBy)) ?? (await this.get({ week, number: draft.number }))!);
    }
    return saved;
  }

  /**
   * Applies `change` to an item and stores the result, retrying when another process
   * wrote in between. `change` returns undefined to leave the item as it is. Returns
   * the stored item, or undefined when the item does not exist.
   */
  async update(ref: PlanItemRef, change: (item: PlanItem) => PlanItem | undefined): Promise<PlanItem | undefined> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt += 1) {
      const current = await this.redis.hget(this.keys.week(ref.week), ref.number);
      if (current === null) return undefined;

      const changed = change(JSON.parse(current) as PlanItem);
      if (changed === undefined) return JSON.parse(current) as PlanItem;

      const next: PlanItem = { ...changed, updatedAt: this.clock.now().toISOString() };
      if (await this.compareAndSet(ref.week, ref.number, current, JSON.stringify(next))) return next;
    }
    throw new Error(`could not update plan item ${ref.number} in ${ref.week}: too many concurrent writes`);
  }

  /** Removes an item and its run links; returns the removed item. */
  async remove(ref: PlanItemRef): Promise<PlanItem | undefined> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt += 1) {
      const current = await this.redis.hget(this.keys.week(ref.week), ref.number);
      if (current === null) return undefined;
      if (await this.compareAndSet(ref.week, ref.number, current, '')) {
        const item = JSON.parse(current) as PlanItem;
        if (item.runIds.length > 0) await this.redis.del(...item.runIds.map((id) => this.keys.runLink(id)));
        return item;
      }
    }
    throw new Error(`could not remove plan item ${ref.number} in ${ref.week}: too many concurrent writes`);
  }

  async setRunLink(runId: string, ref: PlanItemRef): Promise<void> {
    await this.redis.set(this.keys.runLink(runId), JSON.stringify(ref));
  }

  async findRunLink(runId: string): Promise<PlanItemRef | undefined> {
    const value = await this.redis.get(this.keys.runLink(runId));
    return value === null ? undefined : (JSON.parse(value) as PlanItemRef);
  }

  /** Claims a once-only key; true for the first caller only, across processes. */
  async claimOnce(key: string): Promise<boolean> {
    const result = await this.redis.set(this.keys.once(key), this.clock.now().toISOString(), 'EX', ONCE_TTL_SECONDS, 'NX');
    return result === 'OK';
  }

  /** Releases a once-only key after the work it guarded failed, so a retry can do it. */
  async releaseOnce(key: string): Promise<void> {
    await this.redis.del(this.keys.once(key));
  }

  /** Stores a pending import for its confirm button; returns its id. */
  async saveImportDraft(draft: unknown): Promise<string> {
    const id = randomBytes(8).toString('hex');
    await this.redis.set(this.keys.importDraft(id), JSON.stringify(draft), 'EX', IMPORT_TTL_SECONDS);
    return id;
  }

  /** Takes a pending import, so a double click cannot save it twice. */
  async takeImportDraft<T>(id: string): Promise<T | undefined> {
    const value = await this.redis.getdel(this.keys.importDraft(id));
    return value === null ? undefined : (JSON.parse(value) as T);
  }

  async addHomeViewer(userId: string): Promise<void> {
    await this.redis.sadd(this.keys.homeViewers, userId);
  }

  async listHomeViewers(): Promise<string[]> {
    return this.redis.smembers(this.keys.homeViewers);
  }

  private newItem(week: WeekKey, draft: PlanItemDraft, createdBy: string): PlanItem {
    const now = this.clock.now().toISOString();
    return { ...draft, week, status: 'todo', createdAt: now, createdBy, updatedAt: now, runIds: [] };
  }

  private async compareAndSet(week: WeekKey, number: string, expected: string, next: string): Promise<boolean> {
    const result = await this.redis.eval(COMPARE_AND_SET, 2, this.keys.week(week), this.keys.weeks, number, expected, next, week);
    return result === 1;
  }
}
