/**
 * Bolt's HTTP receiver as the Slack receiver tests drive it: the bot app listening on a
 * free loopback port, and requests signed the way Slack signs them.
 *
 *   const { bot, endpoint } = await startHttpBot(harness, { botToken, signingSecret });
 *   const response = await postSignedRequest(endpoint, body, { signingSecret });
 *   await bot.stop();
 */
import { createHmac } from 'node:crypto';

import { createBotApp, type BotApp, type BotAppOptions } from '../../src/bot/app.js';
import type { FakeSlack } from './fake-slack.js';
import { getFreePort } from './free-port.js';

/** Returns the `x-slack-signature` value: `v0=` and the HMAC-SHA256 of `v0:<timestamp>:<body>`. */
export function slackSignature(body: string, timestamp: number, signingSecret: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SignedRequestOptions {
  signingSecret: string;
  /** Epoch seconds of `x-slack-request-timestamp`, by default now. */
  timestamp?: number;
  /** Extra headers, which replace the content type and the signature too. */
  headers?: Record<string, string>;
}

/** POSTs a form-encoded body with Slack's timestamp and signature headers. */
export async function postSignedRequest(endpoint: string, body: string, options: SignedRequestOptions): Promise<Response> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': slackSignature(body, timestamp, options.signingSecret),
      ...options.headers,
    },
    body,
  });
}

/** The fake Slack Web API and handler deps that a receiver test runs the bot app on. */
export interface HttpBotHarness extends Pick<BotAppOptions, 'deps' | 'dedupe' | 'logger'> {
  slack: Pick<FakeSlack, 'url'>;
}

/** Starts the bot app with the HTTP receiver on 127.0.0.1 and a free port, and returns its events URL. */
export async function startHttpBot(
  harness: HttpBotHarness,
  options: Pick<BotAppOptions, 'botToken' | 'onFileShare' | 'onHomeOpened'> & { signingSecret: string },
): Promise<{ bot: BotApp; endpoint: string }> {
  const { signingSecret, ...appOptions } = options;
  const port = await getFreePort();
  const bot = createBotApp({
    ...appOptions,
    slackApiUrl: harness.slack.url,
    deps: harness.deps,
    dedupe: harness.dedupe,
    logger: harness.logger,
    receiver: { mode: 'http', signingSecret, port, host: '127.0.0.1' },
  });
  await bot.start();
  return { bot, endpoint: `http://127.0.0.1:${port}/slack/events` };
}
