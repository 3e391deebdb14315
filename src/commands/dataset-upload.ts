/**
 * `/dataset check [<recipe>]` written as the comment of a JSONL or CSV file shared in a
 * channel. Slash commands cannot carry files, so the Slack adapter passes such messages
 * (a `message` event with `files`) here after acknowledging the event. Each file is
 * checked on the bot machine and its report is posted in the message's thread.
 */
import type { Logger } from 'pino';

import type { ChatPort } from '../bot/chat-port.js';
import type { Translate } from '../bot/i18n.js';
import type { Config, DatasetRecipe } from '../config/schema.js';
import { formatDatasetReport, type CheckDataReport } from '../jobs/dataset-report.js';
import type { SharedFile } from '../jobs/dataset-upload.js';
import { isParseError, parseError, type ParseError } from './parse-error.js';
import { resolveRecipe } from './resolve.js';
import { tokenize } from './tokenize.js';

export interface DatasetUploadMessage {
  /** Message text: the file comment, such as `/dataset check medical-data` or `<@U0BOT> dataset check`. */
  text: string;
  files: SharedFile[];
  channel: string;
  /** `ts` of the message that carries the files; the reports go to its thread. */
  ts: string;
  userId: string;
}

export interface DatasetUploadDeps {
  config: Config;
  chat: ChatPort;
  t: Translate;
  logger: Logger;
  /** `checkSharedFile` with the bot token and the bot machine's Python bound in. */
  checkFile(file: SharedFile, recipe: DatasetRecipe | undefined): Promise<CheckDataReport>;
}

/** The recipe a file comment names, or undefined when it names none. */
export interface DatasetUploadCommand {
  recipe?: string;
}

const COMMAND_WORDS = new Set(['dataset', '数据集']);
const CHECK_WORDS = new Set(['check', '检查']);

/**
 * Parses a file comment. Returns undefined when the text is not a data set check (the
 * message is for someone else), or a ParseError when it is one with a bad recipe.
 */
export function parseUploadComment(text: string, config: Config): DatasetUploadCommand | ParseError | undefined {
  const withoutMention = text.replace(/^\s*<@[A-Z0-9]+>\s*/, '');
  const tokens = tokenize(withoutMention);
  if (isParseError(tokens)) return undefined;

  const [command, subcommand, recipeName, ...rest] = tokens;
  if (command === undefined || !COMMAND_WORDS.has(command.replace(/^[/／]/, '').toLowerCase())) return undefined;
  if (subcommand === undefined || !CHECK_WORDS.has(subcommand.toLowerCase())) return parseError('dataset.usage');
  if (rest.length > 0) return parseError('core.error.unexpected_word', { word: rest[0]!.slice(0, 40) });
  if (recipeName === undefined) return {};

  const recipe = resolveRecipe(config, recipeName.toLowerCase(), 'dataset');
  return isParseError(recipe) ? recipe : { recipe: recipeName.toLowerCase() };
}

/** Checks every shared file of a `/dataset check` message; returns false when the message is not one. */
export async function handleDatasetUpload(message: DatasetUploadMessage, deps: DatasetUploadDeps): Promise<boolean> {
  const parsed = parseUploadComment(message.text, deps.config);
  if (parsed === undefined || message.files.length === 0) return false;

  const reply = (text: string) => deps.chat.postMessage({ channel: message.channel, threadTs: message.ts, text });
  if (isParseError(parsed)) {
    await reply(deps.t(parsed.key, parsed.params));
    return true;
  }

  const recipe = parsed.recipe === undefined ? undefined : (deps.config.recipes[parsed.recipe] as DatasetRecipe);
  for (const file of message.files) {
    const logger = deps.logger.child({ file: file.name, userId: message.userId, channel: message.channel });
    let report: CheckDataReport;
    try {
      report = await deps.checkFile(file, recipe);
    } catch (error) {
      logger.error({ err: error }, 'uploaded data file check failed');
      await reply(deps.t('dataset.error', { message: (error as Error).message }));
      continue;
    }
    logger.info({ ok: report.ok, rows: report.rows }, 'uploaded data file checked');
    await reply(formatDatasetReport(report, recipe?.targetRows, deps.t));
  }
  return true;
}
