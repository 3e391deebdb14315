import { App, HTTPReceiver, SocketModeReceiver, type ButtonAction, type Receiver, type RespondFn } from '@slack/bolt';
import type { Logger } from 'pino';

import { localeFor, type Reply } from '../commands/context.js';
import type { HandlerDeps } from '../commands/deps.js';
import { dispatchCommand, type IncomingCommand } from '../commands/dispatch.js';
import type { DatasetUploadMessage } from '../commands/dataset-upload.js';
import { checkMember } from '../commands/permissions.js';
import { RUN_ACTIONS } from './blocks.js';
import { createAfterAckQueue, type AfterAckQueue } from './after-ack.js';
import { boltLogger } from './bolt-logger.js';
import { isPlanImportModalRequest, PLAN_IMPORT_MODAL, readImportModal, renderImportModal } from './plan-import-view.js';
import { requestKey, type RequestDeduper } from './request-dedupe.js';
import { decodeSlackEscapes } from './slack-text.js';

/**
 * The Slack side of the bot: a Bolt app on Socket Mode (the default: no public URL,
 * an app-level token) or on HTTP (signed requests, verified with the signing secret;
 * a bad signature or a timestamp older than 5 minutes gets 401).
 *
 * Every slash command, `@bot <command>` mention and reply inside a run's thread goes to
 * `dispatchCommand`. Slack wants an ack within 3 seconds, so each listener acks first,
 * then waits its turn in the after-ack queue behind the requests not yet acked, then
 * claims the request's dedupe key (a retried delivery is dropped there), then works.
 */
export type ReceiverOptions =
  | { mode: 'socket'; appToken: string; /** Web API base for `apps.connections.open`; tests use a fake. */ socketApiUrl?: string }
  | { mode: 'http'; signingSecret: string; port: number; /** Interface to listen on (default all). */ host?: string };

export interface BotAppOptions {
  botToken: string;
  /** Web API base URL (`https://slack.com/api/` by default); tests point it at a fake. */
  slackApiUrl?: string;
  receiver: ReceiverOptions;
  deps: HandlerDeps;
  dedupe: RequestDeduper;
  logger: Logger;
  /** Publishes a person's App Home tab when they open it. */
  onHomeOpened?: (userId: string) => Promise<void>;
  /**
   * Handles a file shared with a comment such as `/dataset check medical-data`; returns
   * false when the comment is not for the bot. Slash commands cannot carry files.
   */
  onFileShare?: (message: DatasetUploadMessage) => Promise<boolean>;
}

export interface BotApp {
  readonly app: App;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const RUN_BUTTON_COMMANDS: Readonly<Record<string, string>> = {
  [RUN_ACTIONS.cancel]: 'cancel',
  [RUN_ACTIONS.restart]: 'restart',
  [RUN_ACTIONS.logs]: 'logs',
};

export function createBotApp(options: BotAppOptions): BotApp {
  const logger = options.logger.child({ component: 'slack' });
  const receiver = createReceiver(options, logger);
  const app = new App({
    token: options.botToken,
    receiver,
    logger: boltLogger(logger),
    ...(options.slackApiUrl ? { clientOptions: { slackApiUrl: options.slackApiUrl } } : {}),
  });

  registerListeners(app, options, logger);

  return {
    app,
    async start() {
      if (options.receiver.mode === 'http') {
        const { port, host } = options.receiver;
        await (receiver as HTTPReceiver).start(host ? { port, host } : port);
        logger.info({ mode: 'http', port }, 'Slack receiver listening');
      } else {
        await app.start();
        logger.info({ mode: 'socket' }, 'Slack Socket Mode connected');
      }
    },
    async stop() {
      await app.stop();
      logger.info('Slack receiver stopped');
    },
  };
}

function createReceiver(options: BotAppOptions, logger: Logger): Receiver {
  const slackLogger = boltLogger(logger);
  if (options.receiver.mode === 'http') {
    return new HTTPReceiver({
      signingSecret: options.receiver.signingSecret,
      endpoints: ['/slack/events', '/slack/commands', '/slack/actions'],
      logger: slackLogger,
      // Ack is sent as soon as the listener calls ack(); the work continues afterwards.
      processBeforeResponse: false,
    });
  }
  return new SocketModeReceiver({
    appToken: options.receiver.appToken,
    logger: slackLogger,
    ...(options.receiver.socketApiUrl ? { installerOptions: { clientOptions: { slackApiUrl: options.receiver.socketApiUrl } } } : {}),
  });
}

function registerListeners(app: App, options: BotAppOptions, logger: Logger): void {
  const { deps, dedupe } = options;
  const afterAck = createAfterAckQueue();

  const run = async (key: string, incoming: IncomingCommand): Promise<void> => {
    await afterAck.waitForTurn();
    if (!(await dedupe.claim(key))) {
      logger.info({ userId: incoming.userId, source: incoming.source }, 'repeated Slack delivery ignored');
      return;
    }
    await dispatchCommand({ ...incoming, text: decodeSlackEscapes(incoming.text) }, deps);
  };

  app.command(/^\/.+/, async ({ command, ack, respond, client }) => {
    await ack();
    // `/plan import` with nothing pasted opens a modal to paste into; trigger_id lives 3 s.
    if (isPlanImportModalRequest(command.command, command.text ?? '')) {
      const t = deps.translate(localeFor(deps.config, command.user_id));
      await client.views.open({ trigger_id: command.trigger_id, view: renderImportModal(t, command.channel_id) as never });
      return;
    }
    await run(
      requestKey(['command', command.team_id, command.user_id, command.channel_id, command.command, command.text, command.trigger_id]),
      {
        text: `${command.command} ${command.text ?? ''}`,
        userId: command.user_id,
        channel: command.channel_id,
        source: 'slash',
        respond: ephemeralViaResponseUrl(respond),
      },
    );
  });

  app.event('app_mention', async ({ event, body }) => {
    if (!event.user) return;
    const threadTs = event.thread_ts;
    await run(requestKey(['event', body.team_id, body.event_id, event.channel, event.ts]), {
      text: event.text,
      userId: event.user,
      channel: event.channel,
      ...(threadTs ? { threadTs } : {}),
      source: 'mention',
      respond: ephemeralViaApi(deps, event.channel, event.user, threadTs),
    });
  });

  app.view(PLAN_IMPORT_MODAL, async ({ ack, body, view }) => {
    await ack();
    const submitted = readImportModal(view);
    if (!submitted) return;
    await run(requestKey(['view', body.team?.id, body.user.id, view.id, view.hash]), {
      text: `/plan import\n${submitted.text}`,
      userId: body.user.id,
      channel: submitted.channel,
      source: 'slash',
      respond: ephemeralViaApi(deps, submitted.channel, body.user.id),
    });
  });

  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home' || !options.onHomeOpened) return;
    try {
      await options.onHomeOpened(event.user);
    } catch (error) {
      logger.warn({ err: error, userId: event.user }, 'App Home publish failed');
    }
  });

  app.message(async ({ message, body, context }) => {
    if (message.subtype === 'file_share') {
      await handleFileShare(message, body, options, afterAck, logger);
      return;
    }
    // Only plain replies by people inside a thread; edits, bot posts and joins have a subtype.
    if (message.subtype !== undefined || !('thread_ts' in message) || !message.thread_ts || !message.user) return;
    // Posts by apps (this bot's own progress replies included) are never commands.
    if ('bot_id' in message && message.bot_id) return;
    const text = message.text ?? '';
    // A reply that mentions the bot also arrives as app_mention, which handles it.
    if (context.botUserId && text.includes(`<@${context.botUserId}>`)) return;

    await run(requestKey(['event', body.team_id, (body as { event_id?: string }).event_id, message.channel, message.ts]), {
      text,
      userId: message.user,
      channel: message.channel,
      threadTs: message.thread_ts,
      source: 'thread',
      respond: ephemeralViaApi(deps, message.channel, message.user, message.thread_ts),
    });
  });

  app.action(/.+/, async ({ action: rawAction, body, ack, respond }) => {
    await ack();
    if (body.type !== 'block_actions' || rawAction.type !== 'button') return;
    const action = rawAction as ButtonAction;

    const channel = body.channel?.id ?? body.container?.channel_id;
    const value = action.value ?? '';
    if (!channel) return;
    const message = body.message as { ts?: string; thread_ts?: string } | undefined;
    const reply = ephemeralViaResponseUrl(respond);
    await afterAck.waitForTurn();
    if (!(await dedupe.claim(requestKey(['action', body.team?.id, body.user.id, action.action_id, action.action_ts, body.trigger_id])))) return;

    const commandWord = RUN_BUTTON_COMMANDS[action.action_id];
    if (commandWord !== undefined) {
      await dispatchCommand(
        {
          text: `${commandWord} #${value}`,
          userId: body.user.id,
          channel,
          ...(message?.thread_ts ? { threadTs: message.thread_ts } : {}),
          source: 'action',
          respond: reply,
        },
        deps,
      );
      return;
    }

    const spec = deps.registry.findAction(action.action_id);
    if (!spec) {
      logger.warn({ actionId: action.action_id }, 'button without a handler');
      return;
    }
    const membership = checkMember(deps.config, body.user.id);
    if (!membership.allowed) {
      logger.info({ actionId: action.action_id, userId: body.user.id }, 'button rejected: not a team member');
      await reply(deps.translate(localeFor(deps.config, body.user.id))(membership.key, membership.params));
      return;
    }
    try {
      await spec.handle(
        {
          actionId: action.action_id,
          value,
          userId: body.user.id,
          channel,
          ...(message?.ts ? { messageTs: message.ts } : {}),
          ...(message?.thread_ts ? { threadTs: message.thread_ts } : {}),
          respond: reply,
        },
        deps,
      );
    } catch (error) {
      logger.error({ err: error, actionId: action.action_id, userId: body.user.id }, 'button handler failed');
    }
  });

  app.error(async (error) => {
    logger.error({ err: error }, 'Slack listener failed');
  });
}

/** Ephemeral reply through the request's response_url: works in any channel, bot member or not. */
function ephemeralViaResponseUrl(respond: RespondFn): (reply: Reply | string) => Promise<void> {
  return async (reply) => {
    const message = typeof reply === 'string' ? { text: reply } : reply;
    await respond({ response_type: 'ephemeral', text: message.text, ...(message.blocks ? { blocks: message.blocks as never } : {}) });
  };
}

/** Ephemeral reply with chat.postEphemeral, for events, which carry no response_url. */
function ephemeralViaApi(deps: HandlerDeps, channel: string, user: string, threadTs?: string): (reply: Reply | string) => Promise<void> {
  return async (reply) => {
    const message = typeof reply === 'string' ? { text: reply } : reply;
    await deps.chat.postEphemeral({ channel, user, text: message.text, ...(message.blocks ? { blocks: message.blocks } : {}), ...(threadTs ? { threadTs } : {}) });
  };
}

interface SlackFileShare {
  user?: string;
  text?: string;
  channel: string;
  ts: string;
  files?: { name?: string; url_private_download?: string; size?: number }[];
}

/** Passes a shared file with a bot command as its comment to the upload handler, members only. */
async function handleFileShare(rawMessage: unknown, body: unknown, options: BotAppOptions, afterAck: AfterAckQueue, logger: Logger): Promise<void> {
  const message = rawMessage as SlackFileShare;
  if (!options.onFileShare || !message.user) return;

  const files = (message.files ?? [])
    .filter((file) => file.name && file.url_private_download)
    .map((file) => ({ name: file.name!, urlPrivateDownload: file.url_private_download!, ...(file.size !== undefined ? { size: file.size } : {}) }));
  if (files.length === 0) return;

  const key = requestKey(['file_share', (body as { event_id?: string }).event_id, message.channel, message.ts]);
  await afterAck.waitForTurn();
  if (!(await options.dedupe.claim(key))) return;

  if (!checkMember(options.deps.config, message.user).allowed) {
    logger.info({ userId: message.user, channel: message.channel }, 'file share from a non-member ignored');
    return;
  }

  try {
    await options.onFileShare({ text: message.text ?? '', files, channel: message.channel, ts: message.ts, userId: message.user });
  } catch (error) {
    logger.error({ err: error, userId: message.user, channel: message.channel }, 'checking a shared file failed');
  }
}
