/**
 * Runs in Redis: the record JSON at `<prefix>:run:<id>` is the single source of truth,
 * with indexes for active runs, recent runs and the Slack thread of each run.
 *
 * Every write is a compare-and-set in one Lua script: the record changes only if it
 * still contains what the writer read, and the indexes change in the same step. So two
 * processes updating the same run never lose each other's write.
 */
import type { Redis } from 'ioredis';

import type { Clock } from './clock.js';
import { runKeys, type RunKeys } from './redis-keys.js';
import { canTransition, IllegalTransitionError, isActiveStatus } from './run-state.js';
import type { OverrideValue, RunKind, RunRecord, RunStatus } from './run-types.js';

export interface NewRun {
  kind: RunKind;
  recipe: string;
  vm: string;
  userId: string;
  channel: string;
  overrides: Record<string, OverrideValue>;
  planItem?: string;
  sourceRunId?: string;
  resumeFrom?: string;
}

export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`run #${runId} not found`);
    this.name = 'RunNotFoundError';
  }
}

/** Recent runs kept in the index; older ones stay readable by id. */
const RECENT_LIMIT = 1000;
/** Compare-and-set retries before an update gives up; contention on one run is rare. */
const MAX_CAS_ATTEMPTS = 50;

// KEYS: run, active, recent. ARGV: expected JSON ('' for absent), new JSON, id, active flag, created ms, recent limit.
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[4] == '1' then redis.call('SADD', KEYS[2], ARGV[3]) else redis.call('SREM', KEYS[2], ARGV[3]) end
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -1 - tonumber(ARGV[6]))
return 1
`;

export type RunPatch = Partial<Omit<RunRecord, 'id' | 'createdAt'>>;

export class RunStore {
  readonly keys: RunKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly clock: Clock,
  ) {
    this.keys = runKeys(prefix);
  }

  async create(input: NewRun): Promise<RunRecord> {
    const id = String(await this.redis.incr(this.keys.seq));
    const now = this.clock.now().toISOString();
    const run: RunRecord = {
      id,
      kind: input.kind,
      recipe: input.recipe,
      vm: input.vm,
      userId: input.userId,
      channel: input.channel,
      overrides: { ...input.overrides },
      planItem: input.planItem,
      sourceRunId: input.sourceRunId,
      resumeFrom: input.resumeFrom,
      status: 'queued',
      attempt: 1,
      attempts: [{ attempt: 1, startedAt: now, startedBy: input.userId }],
      createdAt: now,
      updatedAt: now,
      eventOffset: 0,
    };
    const stored = await this.compareAndSet(undefined, run);
    if (!stored) throw new Error(`run #${id} already exists; ${this.keys.seq} is behind the stored runs`);
    return run;
  }

  async get(id: string): Promise<RunRecord | undefined> {
    const json = await this.redis.get(this.keys.run(id));
    return json === null ? undefined : (JSON.parse(json) as RunRecord);
  }

  async require(id: string): Promise<RunRecord> {
    const run = await this.get(id);
    if (!run) throw new RunNotFoundError(id);
    return run;
  }

  /**
   * Applies `change` to the stored run atomically and returns the stored result.
   * `change` returns a patch, or undefined to leave the run as it is. It may run more
   * than once under contention, so it must be pure.
   */
  async update(id: string, change: (run: RunRecord) => RunPatch | undefined): Promise<RunRecord> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt += 1) {
      const json = await this.redis.get(this.keys.run(id));
      if (json === null) throw new RunNotFoundError(id);
      const current = JSON.parse(json) as RunRecord;

      const patch = change(current);
      if (patch === undefined) return current;
      if (patch.status !== undefined && !canTransition(current.status, patch.status)) {
        throw new IllegalTransitionError(id, current.status, patch.status);
      }

      const next: RunRecord = { ...current, ...patch, id, createdAt: current.createdAt, updatedAt: this.clock.now().toISOString() };
      if (await this.compareAndSet(json, next)) return next;
    }
    throw new Error(`run #${id}: gave up after ${MAX_CAS_ATTEMPTS} conflicting concurrent updates`);
  }

  /** Moves the run to `status` (rejecting moves the state machine forbids) with extra fields. */
  async transition(id: string, status: RunStatus, patch: RunPatch = {}): Promise<RunRecord> {
    return this.update(id, () => ({ ...patch, status }));
  }

  /** Records the thread root of the run and indexes channel + ts -> run id. */
  async setThreadTs(id: string, threadTs: string): Promise<RunRecord> {
    const run = await this.update(id, () => ({ threadTs }));
    await this.redis.set(this.keys.thread(run.channel, threadTs), id);
    return run;
  }

  /** Finds the run whose thread root is `channel`/`threadTs`, for commands typed inside a run thread. */
  async findByThread(channel: string, threadTs: string): Promise<RunRecord | undefined> {
    const id = await this.redis.get(this.keys.thread(channel, threadTs));
    return id === null ? undefined : this.get(id);
  }

  async listActive(): Promise<RunRecord[]> {
    const ids = await this.redis.smembers(this.keys.active);
    return this.getMany(ids.sort((a, b) => Number(a) - Number(b)));
  }

  /** Lists at most `limit` runs, the latest first. */
  async listRecent(limit = 20): Promise<RunRecord[]> {
    const ids = await this.redis.zrevrange(this.keys.recent, 0, limit - 1);
    return this.getMany(ids);
  }

  private async getMany(ids: string[]): Promise<RunRecord[]> {
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.keys.run(id)));
    return values.filter((json): json is string => json !== null).map((json) => JSON.parse(json) as RunRecord);
  }

  private async compareAndSet(expectedJson: string | undefined, next: RunRecord): Promise<boolean> {
    const result = await this.redis.eval(
      COMPARE_AND_SET,
      3,
      this.keys.run(next.id),
      this.keys.active,
      this.keys.recent,
      expectedJson ?? '',
      JSON.stringify(next),
      next.id,
      isActiveStatus(next.status) ? '1' : '0',
      String(new Date(next.createdAt).getTime()),
      String(RECENT_LIMIT),
    );
    return result === 1;
  }
}
