/**
 * Errors a `ChatPort` throws, free of any Slack SDK type so that jobs can handle them
 * without importing the SDK.
 */

/** Slack responded with HTTP 429, so the call may be repeated after `retryAfterSeconds`. */
export class ChatRateLimitedError extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    method: string,
  ) {
    super(`Slack rate limit hit on ${method}; retry after ${retryAfterSeconds} s`);
    this.name = 'ChatRateLimitedError';
  }
}

/** Slack answered `ok: false` (for example `channel_not_found`, `not_in_channel`); repeating the call does not help. */
export class ChatApiError extends Error {
  constructor(
    readonly slackError: string,
    method: string,
  ) {
    super(`Slack ${method} failed: ${slackError}`);
    this.name = 'ChatApiError';
  }
}
