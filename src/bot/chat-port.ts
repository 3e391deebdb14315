/**
 * The part of Slack the rest of the bot talks to. `SlackChat` implements it with the
 * Web API client; `ConsoleChat` prints to a terminal for the demo. Block Kit blocks
 * are passed through as plain objects.
 */
export type Block = Record<string, unknown>;

export interface OutgoingMessage {
  channel: string;
  text: string;
  blocks?: Block[];
  threadTs?: string;
  /** Idempotency key of a keyed announcement, stored with the message (Slack message metadata) so `findAnnouncement` can find it. */
  announcementKey?: string;
}

export interface PostedMessage {
  channel: string;
  ts: string;
}

export interface ChatPort {
  postMessage(message: OutgoingMessage): Promise<PostedMessage>;
  updateMessage(target: PostedMessage, message: Omit<OutgoingMessage, 'channel' | 'threadTs'>): Promise<void>;
  postEphemeral(message: OutgoingMessage & { user: string }): Promise<void>;
  /** Uploads a file into a channel or thread (files.uploadV2 on Slack). */
  uploadFile(upload: { channel: string; threadTs?: string; filename: string; title: string; content: Buffer }): Promise<void>;
  /**
   * Finds a message posted with `announcementKey` among the replies of `threadTs` (or the
   * channel's recent messages without a thread), so a worker that died between posting
   * and recording a message does not post it again. Optional: adapters without it may
   * repeat such a message.
   */
  findAnnouncement?(channel: string, threadTs: string | undefined, announcementKey: string): Promise<PostedMessage | undefined>;
  /** Publishes a user's App Home tab. */
  publishHome(userId: string, view: { type: 'home'; blocks: Block[] }): Promise<void>;
}
