import { createHash } from 'node:crypto';

import type { Redis } from 'ioredis';

/**
 * Remembers requests already taken, so a delivery Slack retries (the same payload
 * again, over HTTP with `X-Slack-Retry-Num`, or again over Socket Mode after a missed
 * ack) never queues a second run. The key is a hash of the request's identifying fields,
 * claimed with `SET NX EX` so every bot process shares it.
 */
export interface RequestDeduper {
  /** True the first time `key` is claimed within the window, false for a repeat. */
  claim(key: string): Promise<boolean>;
}

/** Slack retries for about an hour at most (three retries with backoff); keep keys a day. */
const DEDUPE_SECONDS = 24 * 3600;

export class RedisRequestDeduper implements RequestDeduper {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds = DEDUPE_SECONDS,
  ) {}

  async claim(key: string): Promise<boolean> {
    const result = await this.redis.set(`${this.prefix}:request:${key}`, '1', 'EX', this.ttlSeconds, 'NX');
    return result === 'OK';
  }
}

/** For the console, where nothing is retried. */
export const noDedupe: RequestDeduper = { claim: async () => true };

/** Hashes the fields Slack repeats unchanged on a retry into a stable request key. */
export function requestKey(fields: ReadonlyArray<string | undefined>): string {
  return createHash('sha256')
    .update(fields.map((field) => field ?? '').join('\u0000'))
    .digest('hex')
    .slice(0, 32);
}
