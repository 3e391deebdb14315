/**
 * Every Redis key the run machinery writes, under the configured prefix (`redisPrefix`,
 * default `trainops`). BullMQ's own keys use the same prefix through its `prefix` option.
 */
export interface RunKeys {
  /** Counter behind run ids (`INCR`). */
  seq: string;
  /** Run record JSON. */
  run(id: string): string;
  /** Set of ids of runs in an active status. */
  active: string;
  /** Sorted set of run ids scored by creation time in epoch milliseconds. */
  recent: string;
  /** Run id of the run whose thread root is `channel`/`threadTs`. */
  thread(channel: string, threadTs: string): string;
  /** Idempotency record of one announcement: the posted message ts, set with NX. */
  announcement(key: string): string;
}

export function runKeys(prefix: string): RunKeys {
  return {
    seq: `${prefix}:run:seq`,
    run: (id) => `${prefix}:run:${id}`,
    active: `${prefix}:runs:active`,
    recent: `${prefix}:runs:recent`,
    thread: (channel, threadTs) => `${prefix}:run-thread:${channel}:${threadTs}`,
    announcement: (key) => `${prefix}:announce:${key}`,
  };
}
