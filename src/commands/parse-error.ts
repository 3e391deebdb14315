import type { MessageParams } from '../bot/i18n.js';

/**
 * A command the grammar rejected: a catalog key and its parameters, shown to the person
 * ephemerally in their locale. Parsers return it; they never throw for bad input.
 */
export interface ParseError {
  readonly type: 'parse_error';
  /** Message catalog key, such as `core.error.unknown_recipe`. */
  readonly key: string;
  readonly params: MessageParams;
}

export function parseError(key: string, params: MessageParams = {}): ParseError {
  return Object.freeze({ type: 'parse_error', key, params: Object.freeze({ ...params }) });
}

export function isParseError(value: unknown): value is ParseError {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'parse_error';
}
