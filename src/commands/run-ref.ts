import type { ParseContext } from './context.js';
import { isParseError, parseError, type ParseError } from './parse-error.js';
import { tokenize } from './tokenize.js';

/**
 * A run reference as people write it: `#42`, `42`, `＃42` (full-width, normalized by the
 * tokenizer). Without one, a command typed in a run's thread means that run.
 */
const RUN_REF = /^#?(\d{1,12})$/;

export function isRunRef(token: string): boolean {
  return RUN_REF.test(token);
}

export function parseRunRef(token: string | undefined, ctx: ParseContext): string | ParseError {
  return parseOptionalRunRef(token, ctx) ?? parseError('core.error.run_id_missing');
}

/**
 * Parses a run reference that may be left out anywhere. Without one, returns the run of
 * the thread, or undefined outside a thread: the handler then picks the person's only
 * active run (`findRunOrRespond`).
 */
export function parseOptionalRunRef(token: string | undefined, ctx: ParseContext): string | undefined | ParseError {
  if (token === undefined) return ctx.threadRunId;
  const match = RUN_REF.exec(token);
  if (!match) return parseError('core.error.run_id_invalid', { value: token.length > 40 ? `${token.slice(0, 40)}…` : token });
  return String(Number(match[1]));
}

/**
 * Parses the text of a command that takes at most one run reference and nothing else,
 * such as `/status #42`. The reference is optional (`parseOptionalRunRef`).
 */
export function parseLoneRunRef(text: string, ctx: ParseContext): { runId?: string } | ParseError {
  const tokens = tokenize(text);
  if (isParseError(tokens)) return tokens;
  if (tokens.length > 1) return parseError('core.error.unexpected_word', { word: tokens[1]!.slice(0, 40) });
  const runId = parseOptionalRunRef(tokens[0], ctx);
  if (isParseError(runId)) return runId;
  return runId === undefined ? {} : { runId };
}
