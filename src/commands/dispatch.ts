import { randomBytes } from 'node:crypto';

import type { Translate } from '../bot/i18n.js';
import { exampleNames } from './examples.js';
import { localeFor, type CommandContext, type CommandSource, type Reply } from './context.js';
import type { HandlerDeps } from './deps.js';
import { isParseError, type ParseError } from './parse-error.js';
import { checkMember } from './permissions.js';
import { suggestName } from '../config/suggest.js';

/**
 * Routes one request to its command: checks that the person is on the team, finds the
 * command by its first word, parses, and runs the handler. Slack, the console and
 * button clicks all come through here, so every surface behaves the same.
 */
export interface IncomingCommand {
  /** The command word and its arguments: `train medical-phi4 on yanshi`, `/logs #4 20`. */
  text: string;
  userId: string;
  channel: string;
  threadTs?: string;
  source: CommandSource;
  respond(reply: Reply | string): Promise<void>;
}

export type DispatchOutcome = 'handled' | 'rejected' | 'ignored' | 'failed';

const MENTION = /^\s*<@[A-Z0-9]+(\|[^>]*)?>[\s:：,，]*/;

export async function dispatchCommand(incoming: IncomingCommand, deps: HandlerDeps): Promise<DispatchOutcome> {
  const { config } = deps;
  const locale = localeFor(config, incoming.userId);
  const t = deps.translate(locale);
  const text = incoming.text.replace(MENTION, '').trim();
  const match = /^(\S+)\s*([\s\S]*)$/.exec(text);

  // A thread reply that does not start with a command word is conversation, not a request.
  const spec = match ? deps.registry.find(match[1]!) : undefined;
  if (incoming.source === 'thread' && spec === undefined) return 'ignored';

  const threadRun =
    incoming.threadTs !== undefined ? await deps.runStore.findByThread(incoming.channel, incoming.threadTs) : undefined;
  if (incoming.source === 'thread' && threadRun === undefined) return 'ignored';

  const logger = deps.logger.child({ userId: incoming.userId, channel: incoming.channel, ...(threadRun ? { runId: threadRun.id } : {}) });

  const membership = checkMember(config, incoming.userId);
  if (!membership.allowed) {
    logger.info('request rejected: not a team member');
    await incoming.respond(t(membership.key, membership.params));
    return 'rejected';
  }

  if (!match) {
    await incoming.respond(t('core.error.empty', { ...exampleNames(config) }));
    return 'rejected';
  }
  if (spec === undefined) {
    const names = deps.registry.list().map((command) => command.name);
    const suggestion = suggestName(match[1]!.replace(/^\//, ''), names);
    await incoming.respond(
      t('core.error.unknown_command', {
        name: match[1]!.slice(0, 40),
        hint: suggestion ? t('core.error.did_you_mean', { suggestion: `/${suggestion}` }) : '',
        valid: names.map((name) => `/${name}`).join(' '),
      }),
    );
    return 'rejected';
  }

  const ctx: CommandContext = {
    config,
    userId: incoming.userId,
    channel: incoming.channel,
    ...(incoming.threadTs !== undefined ? { threadTs: incoming.threadTs } : {}),
    ...(threadRun ? { threadRunId: threadRun.id } : {}),
    locale,
    now: deps.clock.now(),
    source: incoming.source,
    t,
    logger,
    respond: incoming.respond,
  };

  const command = spec.parse(match[2] ?? '', ctx);
  if (isParseError(command)) {
    logger.info({ command: spec.name, error: command.key }, 'command rejected by the grammar');
    await incoming.respond(renderParseError(command, t));
    return 'rejected';
  }

  try {
    await spec.handle(command, ctx, deps);
    return 'handled';
  } catch (error) {
    const reference = randomBytes(4).toString('hex');
    logger.error({ err: error, command: spec.name, reference }, 'command handler failed');
    await incoming.respond(t('core.error.internal', { reference })).catch((replyError: unknown) => {
      logger.error({ err: replyError, reference }, 'could not tell the person about the failure');
    });
    return 'failed';
  }
}

/**
 * Renders a ParseError in the person's locale, turning a `suggestion` into a "did you
 * mean" hint. Parsers join the lists in `valid` and `allowed` with ", ", and this
 * rejoins them with the locale's list separator (、 in Chinese). Recipe kinds in `kind`
 * and `expected` become the locale's words for them.
 */
export function renderParseError(error: ParseError, t: Translate): string {
  const suggestion = error.params.suggestion;
  const hint = typeof suggestion === 'string' && suggestion.length > 0 ? t('core.error.did_you_mean', { suggestion }) : '';
  const first = typeof error.params.valid === 'string' ? error.params.valid.split(', ')[0] : undefined;
  const separator = t('core.list_separator');
  const lists: Record<string, string> = {};
  for (const name of ['valid', 'allowed']) {
    const value = error.params[name];
    if (typeof value === 'string') lists[name] = value.split(', ').join(separator);
  }
  // Recipe kinds (`train`, `deploy`, …) are config words, so people get them as 训练配方 and so on.
  const kinds: Record<string, string> = {};
  for (const name of ['kind', 'expected']) {
    const value = error.params[name];
    if (typeof value === 'string' && RECIPE_KINDS.has(value)) kinds[name] = t(`core.recipe_kind.${value}`);
  }
  return t(error.key, { first, ...error.params, ...lists, ...kinds, hint });
}

const RECIPE_KINDS = new Set(['train', 'deploy', 'dataset', 'bench']);
