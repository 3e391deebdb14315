/**
 * Sends a run's Slack messages: keyed and posted at most once across retried jobs and
 * worker processes, paced to Slack's limits, and never dropped for a 429.
 *
 * - Every post and upload has a key (`run:42:end:a1`). The key is claimed with `SET NX`
 *   before the post and then holds the posted ts, so a re-delivered job that reaches
 *   the same announcement finds it done. A claim expires (`claimTtlMs`) unless its
 *   process keeps refreshing it, so a worker that dies mid-post does not block the
 *   message forever: the next worker claims it again. Because that worker may have
 *   died after Slack got the message, the next one first looks for the key in the
 *   thread (message metadata, `ChatPort.findAnnouncement`) and posts only if it is
 *   absent. Uploads have no such lookup, so a chart may repeat in that narrow case.
 * - Messages to one channel are spaced `channelIntervalMs` apart (Slack allows about
 *   one message per second per channel). This state is per process on purpose: it
 *   paces this process's own calls.
 * - Root updates are coalesced per message: only the latest content is sent, at most
 *   once per `updateIntervalMs`, and at most `updatesPerMinute` chat.update calls a
 *   minute overall (chat.update is a Tier 3 method, about 50 a minute).
 * - A 429 (`ChatRateLimitedError`) waits Retry-After and tries again, without limit;
 *   other errors are retried `maxAttempts` times with backoff, then thrown.
 */
import { randomBytes } from 'node:crypto';

import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

import type { ChatPort, OutgoingMessage, PostedMessage } from '../bot/chat-port.js';
import { ChatApiError, ChatRateLimitedError } from '../bot/chat-errors.js';
import type { Clock } from './clock.js';
import type { RunKeys } from './redis-keys.js';

export interface AnnouncerOptions {
  chat: ChatPort;
  redis: Redis;
  keys: RunKeys;
  clock: Clock;
  logger: Logger;
  channelIntervalMs?: number;
  updateIntervalMs?: number;
  updatesPerMinute?: number;
  claimTtlMs?: number;
  /** Attempts for errors other than 429 before a post gives up. */
  maxAttempts?: number;
}

export interface FileUpload {
  channel: string;
  threadTs?: string;
  filename: string;
  title: string;
  content: Buffer;
}

/** Announcement records are kept this long, longer than any run's retries. */
const RECORD_TTL_SECONDS = 90 * 24 * 3600;

interface RootState {
  target: PostedMessage;
  latest?: Omit<OutgoingMessage, 'channel' | 'threadTs'>;
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
  lastSentAt: number;
  flushing?: Promise<void>;
}

export class Announcer {
  private readonly channelIntervalMs: number;
  private readonly updateIntervalMs: number;
  private readonly updatesPerMinute: number;
  private readonly claimTtlMs: number;
  private readonly maxAttempts: number;
  private readonly channelNextAt = new Map<string, number>();
  private readonly recentUpdates: number[] = [];
  private readonly roots = new Map<string, RootState>();
  private readonly owner = randomBytes(6).toString('hex');

  constructor(private readonly options: AnnouncerOptions) {
    this.channelIntervalMs = options.channelIntervalMs ?? 1000;
    this.updateIntervalMs = options.updateIntervalMs ?? 1200;
    this.updatesPerMinute = options.updatesPerMinute ?? 50;
    this.claimTtlMs = options.claimTtlMs ?? 60_000;
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  /** Posts `message` once for `key`; returns the message posted now or by an earlier attempt. */
  async post(key: string, message: OutgoingMessage): Promise<PostedMessage> {
    const { chat } = this.options;
    const findEarlierPost = chat.findAnnouncement
      ? async () => {
          try {
            const found = await this.send(`find ${key}`, async () => chat.findAnnouncement?.(message.channel, message.threadTs, key));
            return found === undefined ? undefined : JSON.stringify(found);
          } catch (error) {
            // Without the lookup (a missing history scope, say) a repeat beats a lost message.
            this.options.logger.warn({ err: error, key }, 'could not look for an earlier post; posting, which may repeat it');
            return undefined;
          }
        }
      : undefined;
    const record = await this.once(
      key,
      async () => {
        await this.paceChannel(message.channel);
        const posted = await this.send(key, () => chat.postMessage({ ...message, announcementKey: key }));
        return JSON.stringify(posted);
      },
      findEarlierPost,
    );
    return JSON.parse(record) as PostedMessage;
  }

  /** Uploads a file once for `key`. */
  async upload(key: string, upload: FileUpload): Promise<void> {
    await this.once(key, async () => {
      await this.paceChannel(upload.channel);
      await this.send(key, () => this.options.chat.uploadFile(upload));
      return JSON.stringify({ uploaded: true });
    });
  }

  /** Returns whether `key` has already been announced. */
  async isDone(key: string): Promise<boolean> {
    const value = await this.options.redis.get(this.options.keys.announcement(key));
    return value !== null && !value.startsWith('pending:');
  }

  /**
   * Replaces the content of `target` with `message`, coalesced with other updates of the
   * same message: resolves once this content or a later one is on Slack.
   */
  updateRoot(target: PostedMessage, message: Omit<OutgoingMessage, 'channel' | 'threadTs'>): Promise<void> {
    const id = `${target.channel}:${target.ts}`;
    let state = this.roots.get(id);
    if (!state) {
      state = { target, waiters: [], lastSentAt: 0 };
      this.roots.set(id, state);
    }
    state.latest = message;
    const done = new Promise<void>((resolve, reject) => state.waiters.push({ resolve, reject }));
    if (!state.flushing) state.flushing = this.flushRoot(id, state);
    return done;
  }

  /** Waits for every coalesced root update that is still pending. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.roots.values()].map((state) => state.flushing));
  }

  private async flushRoot(id: string, state: RootState): Promise<void> {
    try {
      while (state.latest) {
        const waitMs = state.lastSentAt + this.updateIntervalMs - this.options.clock.now().getTime();
        if (waitMs > 0) await this.options.clock.sleep(waitMs);
        await this.paceUpdates();

        // Take the latest content only now, after the waits, so newer content replaces it.
        const message = state.latest;
        const waiters = state.waiters.splice(0);
        state.latest = undefined;
        try {
          await this.send(`update ${id}`, () => this.options.chat.updateMessage(state.target, message));
          for (const waiter of waiters) waiter.resolve();
        } catch (error) {
          for (const waiter of waiters) waiter.reject(error);
        }
        state.lastSentAt = this.options.clock.now().getTime();
      }
    } finally {
      state.flushing = undefined;
      if (state.waiters.length === 0) this.roots.delete(id);
    }
  }

  /**
   * Runs `perform` unless `key` is done; its return value becomes the key's record.
   * When an earlier attempt got as far as sending but never recorded the result (its
   * process died), `findEarlier` is asked first whether the message reached Slack.
   */
  private async once(key: string, perform: () => Promise<string>, findEarlier?: () => Promise<string | undefined>): Promise<string> {
    const { redis, keys, clock, logger } = this.options;
    const redisKey = keys.announcement(key);
    const claim = `pending:${this.owner}:${randomBytes(4).toString('hex')}`;

    for (;;) {
      const claimed = await redis.set(redisKey, claim, 'PX', this.claimTtlMs, 'NX');
      if (claimed === 'OK') break;
      const existing = await redis.get(redisKey);
      if (existing !== null && !existing.startsWith('pending:')) return existing;
      // Another attempt has the claim. It either finishes or its claim expires.
      await clock.sleep(Math.min(1000, this.claimTtlMs / 4));
    }

    const triedKey = `${redisKey}:tried`;
    const refresh = setInterval(() => {
      void redis.pexpire(redisKey, this.claimTtlMs).catch((error: unknown) => logger.warn({ err: error, key }, 'could not refresh announcement claim'));
    }, this.claimTtlMs / 3);
    try {
      const earlier = findEarlier && (await redis.exists(triedKey)) ? await findEarlier() : undefined;
      if (earlier !== undefined) logger.info({ key }, 'found the announcement an earlier attempt posted; not posting again');
      await redis.set(triedKey, '1', 'EX', RECORD_TTL_SECONDS);
      const record = earlier ?? (await perform());
      await redis.set(redisKey, record, 'EX', RECORD_TTL_SECONDS);
      return record;
    } catch (error) {
      // Release the claim, if it is still ours, so a later attempt can post.
      await redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, redisKey, claim);
      throw error;
    } finally {
      clearInterval(refresh);
    }
  }

  private async send<T>(label: string, call: () => Promise<T>): Promise<T> {
    const { clock, logger } = this.options;
    let failures = 0;
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (error instanceof ChatRateLimitedError) {
          logger.warn({ label, retryAfterSeconds: error.retryAfterSeconds }, 'Slack rate limit hit; waiting Retry-After');
          await clock.sleep(error.retryAfterSeconds * 1000);
          continue;
        }
        failures += 1;
        if (failures >= this.maxAttempts || !isRetryable(error)) throw error;
        const backoffMs = Math.min(30_000, 500 * 2 ** failures);
        logger.warn({ err: error, label, failures, backoffMs }, 'Slack call failed; retrying');
        await clock.sleep(backoffMs);
      }
    }
  }

  private async paceChannel(channel: string): Promise<void> {
    const now = this.options.clock.now().getTime();
    const slot = Math.max(now, this.channelNextAt.get(channel) ?? 0);
    this.channelNextAt.set(channel, slot + this.channelIntervalMs);
    if (slot > now) await this.options.clock.sleep(slot - now);
  }

  private async paceUpdates(): Promise<void> {
    for (;;) {
      const now = this.options.clock.now().getTime();
      while (this.recentUpdates.length > 0 && (this.recentUpdates[0] as number) <= now - 60_000) this.recentUpdates.shift();
      if (this.recentUpdates.length < this.updatesPerMinute) {
        this.recentUpdates.push(now);
        return;
      }
      await this.options.clock.sleep((this.recentUpdates[0] as number) + 60_000 - now);
    }
  }
}

/** Slack returns `ok: false` for problems a retry cannot fix (channel_not_found, invalid_blocks). */
function isRetryable(error: unknown): boolean {
  return !(error instanceof ChatApiError);
}
