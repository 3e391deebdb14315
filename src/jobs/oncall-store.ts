import type { Redis } from 'ioredis';

import type { OncallOverride } from './oncall-rotation.js';

/**
 * On-call state in Redis: the `/oncall set` override (expiring at the next hand-over)
 * and, per failed attempt, who was paged, at which escalation level, and who
 * acknowledged. Keys live under `<prefix>:oncall:`.
 */

/** Page state is kept this long after a failure; escalations never run that late. */
const PAGE_TTL_SECONDS = 7 * 24 * 3600;

export interface PageState {
  runId: string;
  attempt: number;
  /** People to page in order; `level` indexes the last one paged. */
  order: string[];
  level: number;
  /** Failure class label key, for escalation messages. */
  failureClass: string;
  ackedBy?: string;
  ackedAt?: string;
}

export type AckOutcome = { outcome: 'acked'; state: PageState } | { outcome: 'already_acked'; state: PageState } | { outcome: 'not_paged' };

export class OncallStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private overrideKey(): string {
    return `${this.prefix}:oncall:override`;
  }

  private pageKey(runId: string, attempt: number): string {
    return `${this.prefix}:oncall:page:${runId}:${attempt}`;
  }

  async getOverride(): Promise<OncallOverride | null> {
    const json = await this.redis.get(this.overrideKey());
    return json === null ? null : (JSON.parse(json) as OncallOverride);
  }

  /** Stores the override; Redis drops it at `until`, the next hand-over. */
  async setOverride(override: OncallOverride): Promise<void> {
    await this.redis.set(this.overrideKey(), JSON.stringify(override), 'PXAT', new Date(override.until).getTime());
  }

  /** Creates the page state unless it exists; returns the stored state and whether this call created it. */
  async createPage(state: PageState): Promise<{ created: boolean; state: PageState }> {
    const key = this.pageKey(state.runId, state.attempt);
    // One script, so a second worker paging the same attempt never sees half a state.
    const script = `
      if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
      redis.call('HSET', KEYS[1], 'runId', ARGV[1], 'attempt', ARGV[2], 'order', ARGV[3], 'level', ARGV[4], 'failureClass', ARGV[5])
      redis.call('EXPIRE', KEYS[1], ARGV[6])
      return 1`;
    const created = await this.redis.eval(
      script,
      1,
      key,
      state.runId,
      String(state.attempt),
      JSON.stringify(state.order),
      String(state.level),
      state.failureClass,
      String(PAGE_TTL_SECONDS),
    );
    if (created === 1) return { created: true, state };
    return { created: false, state: (await this.getPage(state.runId, state.attempt)) ?? state };
  }

  async getPage(runId: string, attempt: number): Promise<PageState | null> {
    const hash = await this.redis.hgetall(this.pageKey(runId, attempt));
    if (!hash.runId || !hash.order) return null;
    return {
      runId: hash.runId,
      attempt: Number(hash.attempt),
      order: JSON.parse(hash.order) as string[],
      level: Number(hash.level ?? 0),
      failureClass: hash.failureClass ?? 'unknown',
      ackedBy: hash.ackedBy,
      ackedAt: hash.ackedAt,
    };
  }

  /** Records the first acknowledgement; later ones see who was first. */
  async acknowledge(runId: string, attempt: number, userId: string, at: Date): Promise<AckOutcome> {
    const key = this.pageKey(runId, attempt);
    if ((await this.redis.exists(key)) === 0) return { outcome: 'not_paged' };

    const first = await this.redis.hsetnx(key, 'ackedBy', userId);
    if (first === 1) await this.redis.hset(key, 'ackedAt', at.toISOString());
    const state = await this.getPage(runId, attempt);
    if (!state) return { outcome: 'not_paged' };
    return first === 1 ? { outcome: 'acked', state } : { outcome: 'already_acked', state };
  }

  /**
   * Moves the page from `fromLevel` to `fromLevel + 1` unless it was acknowledged or
   * already moved (a re-delivered escalation job); returns true when this call moved it.
   */
  async advanceLevel(runId: string, attempt: number, fromLevel: number): Promise<boolean> {
    // Compare-and-set in one script, so two workers running the same job advance once.
    const script = `
      if redis.call('HEXISTS', KEYS[1], 'ackedBy') == 1 then return 0 end
      if redis.call('HGET', KEYS[1], 'level') ~= ARGV[1] then return 0 end
      redis.call('HSET', KEYS[1], 'level', ARGV[2])
      return 1`;
    const moved = await this.redis.eval(script, 1, this.pageKey(runId, attempt), String(fromLevel), String(fromLevel + 1));
    return moved === 1;
  }
}
