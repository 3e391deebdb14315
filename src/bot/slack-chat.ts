/**
 * `ChatPort` over Slack's Web API (`@slack/web-api` WebClient).
 *
 *   const chat = new SlackChat({ token: env.slackBotToken });
 *   const chat = new SlackChat({ token: 'xoxb-test', slackApiUrl: fakeSlack.url }); // tests
 *
 * Rate limits: with `rejectRateLimitedCalls: true` a 429 becomes a `ChatRateLimitedError`
 * carrying Retry-After, so a caller with its own queue (the run announcer) decides what to
 * wait for. Left false (the default), WebClient itself pauses for Retry-After and retries.
 */
import { WebAPIPlatformError, WebAPIRateLimitedError, WebClient, type RetryOptions } from '@slack/web-api';

import { ChatApiError, ChatRateLimitedError } from './chat-errors.js';
import type { Block, ChatPort, OutgoingMessage, PostedMessage } from './chat-port.js';

export { ChatApiError, ChatRateLimitedError };

export interface SlackChatOptions {
  token: string;
  /** Base URL of the Web API, ending in `/api/`; tests point it at a local fake. */
  slackApiUrl?: string;
  rejectRateLimitedCalls?: boolean;
  /** Retries for network errors and 5xx responses (default: 5 retries over about 5 minutes). */
  retryConfig?: RetryOptions;
  /** Per-request timeout in milliseconds (default 30 s). */
  timeoutMs?: number;
}

/** Slack message metadata type carrying the announcement key of a keyed post. */
const ANNOUNCEMENT_EVENT_TYPE = 'trainops_announcement';
/** Pages of thread replies searched for a lost announcement (200 replies a page). */
const MAX_LOOKUP_PAGES = 10;

export class SlackChat implements ChatPort {
  readonly client: WebClient;

  constructor(options: SlackChatOptions) {
    this.client = new WebClient(options.token, {
      slackApiUrl: options.slackApiUrl,
      rejectRateLimitedCalls: options.rejectRateLimitedCalls ?? false,
      // Five retries in about five minutes: long enough for a Slack blip, short enough
      // that a BullMQ job is not held for half an hour by one message.
      retryConfig: options.retryConfig ?? { retries: 5, factor: 3.86 },
      timeout: options.timeoutMs ?? 30_000,
    });
  }

  async postMessage(message: OutgoingMessage): Promise<PostedMessage> {
    const result = await this.call('chat.postMessage', () =>
      this.client.chat.postMessage({
        channel: message.channel,
        text: message.text,
        blocks: message.blocks as never,
        thread_ts: message.threadTs,
        unfurl_links: false,
        unfurl_media: false,
        ...(message.announcementKey === undefined
          ? {}
          : { metadata: { event_type: ANNOUNCEMENT_EVENT_TYPE, event_payload: { key: message.announcementKey } } }),
      }),
    );
    return { channel: result.channel ?? message.channel, ts: String(result.ts) };
  }

  async findAnnouncement(channel: string, threadTs: string | undefined, announcementKey: string): Promise<PostedMessage | undefined> {
    let cursor: string | undefined;
    // A thread's replies, or the latest channel messages for a thread root (posted moments before).
    for (let page = 0; page < MAX_LOOKUP_PAGES; page += 1) {
      const result = await this.call(threadTs ? 'conversations.replies' : 'conversations.history', () =>
        threadTs
          ? this.client.conversations.replies({ channel, ts: threadTs, include_all_metadata: true, limit: 200, cursor })
          : this.client.conversations.history({ channel, include_all_metadata: true, limit: 100, cursor }),
      );
      for (const message of result.messages ?? []) {
        const metadata = message.metadata as { event_type?: string; event_payload?: { key?: unknown } } | undefined;
        if (metadata?.event_type === ANNOUNCEMENT_EVENT_TYPE && metadata.event_payload?.key === announcementKey && message.ts) {
          return { channel, ts: message.ts };
        }
      }
      cursor = result.response_metadata?.next_cursor || undefined;
      if (!cursor || !threadTs) return undefined;
    }
    return undefined;
  }

  async updateMessage(target: PostedMessage, message: { text: string; blocks?: Block[] }): Promise<void> {
    await this.call('chat.update', () =>
      this.client.chat.update({ channel: target.channel, ts: target.ts, text: message.text, blocks: message.blocks as never }),
    );
  }

  async postEphemeral(message: OutgoingMessage & { user: string }): Promise<void> {
    await this.call('chat.postEphemeral', () =>
      this.client.chat.postEphemeral({
        channel: message.channel,
        user: message.user,
        text: message.text,
        blocks: message.blocks as never,
        thread_ts: message.threadTs,
      }),
    );
  }

  async uploadFile(upload: { channel: string; threadTs?: string; filename: string; title: string; content: Buffer }): Promise<void> {
    // files.uploadV2 makes three requests: files.getUploadURLExternal, a POST of the
    // bytes to the returned upload_url, and files.completeUploadExternal.
    await this.call('files.uploadV2', () =>
      this.client.filesUploadV2({
        channel_id: upload.channel,
        thread_ts: upload.threadTs,
        filename: upload.filename,
        title: upload.title,
        file: upload.content,
      } as never),
    );
  }

  async publishHome(userId: string, view: { type: 'home'; blocks: Block[] }): Promise<void> {
    await this.call('views.publish', () => this.client.views.publish({ user_id: userId, view: view as never }));
  }

  /** Runs one Web API call and turns WebClient's errors into this module's typed errors. */
  private async call<T>(method: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof WebAPIRateLimitedError) {
        throw new ChatRateLimitedError(error.retryAfter, method);
      }
      if (error instanceof WebAPIPlatformError) {
        throw new ChatApiError(error.data.error, method);
      }
      throw error;
    }
  }
}
