import { codeBlock, section } from '../bot/blocks.js';
import { isParseError, parseError } from './parse-error.js';
import { defineCommand } from './registry.js';
import { findRunOrRespond } from './run-lookup.js';
import { isRunRef, parseOptionalRunRef } from './run-ref.js';
import { tokenize } from './tokenize.js';
import type { HandlerDeps } from './deps.js';
import { runDirOf } from '../jobs/run-dir.js';
import { MAX_LOG_LINES } from '../jobs/run-control.js';
import type { RunRecord } from '../jobs/run-types.js';

/**
 * `/logs [#id] [n]`: the last n lines of the run's train.log. Short output is an
 * ephemeral code block. Output longer than one Block Kit section (3000 characters)
 * goes to the run's thread as a file, because Slack rejects longer section text.
 */
export interface LogsCommand {
  /** Run id, absent when neither `#id` nor the thread names one: the handler then uses the person's only active run. */
  readonly runId?: string;
  readonly lines: number;
}

export const DEFAULT_LOG_LINES = 50;
/** Room left in a section for the title and the code fence. */
const INLINE_LIMIT = 2800;
/** Upper bound of an uploaded log, far below Slack's file size limit. */
const MAX_FILE_CHARS = 1_000_000;

export const logsCommand = defineCommand<LogsCommand>({
  name: 'logs',
  aliases: ['日志', 'log'],
  helpKey: 'core.help.logs',
  parse(text, ctx) {
    const tokens = tokenize(text);
    if (isParseError(tokens)) return tokens;

    let runToken: string | undefined;
    let lines = DEFAULT_LOG_LINES;
    const rest = [...tokens];

    if (rest[0] !== undefined && rest[0].startsWith('#')) runToken = rest.shift();
    else if (rest.length === 2 && isRunRef(rest[0]!)) runToken = rest.shift();

    if (rest.length > 1) return parseError('core.error.unexpected_word', { word: rest[1]!.slice(0, 40) });
    if (rest[0] !== undefined) {
      const count = /^\d{1,6}$/.test(rest[0]) ? Number(rest[0]) : NaN;
      if (!(count >= 1 && count <= MAX_LOG_LINES)) {
        return parseError('core.error.lines_invalid', { value: rest[0].slice(0, 40), max: MAX_LOG_LINES });
      }
      lines = count;
    }

    const runId = parseOptionalRunRef(runToken, ctx);
    if (isParseError(runId)) return runId;
    return runId === undefined ? { lines } : { runId, lines };
  },
  async handle(command, requestCtx, deps) {
    const found = await findRunOrRespond(command.runId, requestCtx, deps);
    if (!found) return;
    const { run, ctx } = found;

    const log = await deps.runControl.readRunLog(run.id, command.lines);
    // Strips only the newline that ends the file, because trailing blank lines are lines `tail` counted.
    const text = log.text.replace(/\r?\n$/, '');
    if (!log.exists || text.trim().length === 0) {
      await ctx.respond(ctx.t('core.logs.empty', { id: run.id }));
      return;
    }

    const shownLines = text.split('\n').length;
    if (text.length <= INLINE_LIMIT && !log.truncated) {
      const title = ctx.t(shownLines < command.lines ? 'core.logs.title_whole' : 'core.logs.title', { id: run.id, lines: shownLines, requested: command.lines });
      await ctx.respond({ text: `${title}\n${text}`, blocks: [section(`${title}\n${codeBlock(text)}`)] });
      return;
    }

    // readRunLog keeps only what fits in one message, so the file is read again in full.
    const full = (await readLogTail(run, command.lines, deps)) ?? text;
    await deps.chat.uploadFile({
      channel: run.channel,
      ...(run.threadTs ? { threadTs: run.threadTs } : {}),
      filename: `run-${run.id}-train.log`,
      title: ctx.t('core.logs.file_title', { id: run.id, lines: full.split('\n').length }),
      content: Buffer.from(`${full}\n`, 'utf8'),
    });
    ctx.logger.info({ runId: run.id, lines: command.lines }, 'long log posted as a file');
    await ctx.respond(ctx.t('core.logs.uploaded', { id: run.id }));
  },
});

/** Reads the last `lines` lines of the run's train.log in full, or undefined without a host. */
async function readLogTail(run: RunRecord, lines: number, deps: HandlerDeps): Promise<string | undefined> {
  const vm = deps.config.vms[run.vm];
  if (!deps.hosts || !vm) return undefined;

  const host = await deps.hosts.get(run.vm);
  const logPath = await host.resolvePath(`${runDirOf(vm, run.id)}/train.log`);
  const result = await host.exec(['tail', '-n', String(lines), '--', logPath], { timeoutMs: 20_000 });
  if (result.code !== 0) return undefined;
  return result.stdout.slice(-MAX_FILE_CHARS).replace(/\r?\n$/, '');
}
