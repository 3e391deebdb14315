import type { Logger } from 'pino';

import type { Block } from '../bot/chat-port.js';
import type { Translate } from '../bot/i18n.js';
import type { Config, Locale } from '../config/schema.js';

/** A reply only the person who typed the command sees (Slack's ephemeral `respond`). */
export interface Reply {
  text: string;
  blocks?: Block[];
}

/** Where the command came from; `thread` means a reply inside a run's thread. */
export type CommandSource = 'slash' | 'mention' | 'thread' | 'console' | 'action';

/** What a parser may look at: no I/O, only the request's facts and the config. */
export interface ParseContext {
  readonly config: Config;
  readonly userId: string;
  readonly channel: string;
  /** Run whose thread the command was typed in; commands about one run default to it. */
  readonly threadRunId?: string;
  readonly locale: Locale;
  /** Time of the request, for grammar that reads dates (`周一`). */
  readonly now: Date;
}

/** One request as handlers see it. */
export interface CommandContext extends ParseContext {
  /** Thread the command was typed in, if any (Slack `thread_ts`). */
  readonly threadTs?: string;
  readonly source: CommandSource;
  /** Translator for this person's locale. */
  readonly t: Translate;
  /** Child logger bound to the Slack user (and run, where one is implied). */
  readonly logger: Logger;
  /** Sends an ephemeral reply to the person who typed the command. */
  respond(reply: Reply | string): Promise<void>;
}

/** The locale for a person: their `locale` in team.members, else the team's. */
export function localeFor(config: Config, userId: string): Locale {
  return config.team.members.find((member) => member.id === userId)?.locale ?? config.locale;
}
