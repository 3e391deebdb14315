import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from 'pino';

/**
 * Bolt's Logger interface over pino, so Bolt's own messages go through the same
 * redacting logger as ours. Bolt passes the level through setLevel; pino keeps its own.
 */
export function boltLogger(logger: Logger): SlackLogger {
  const join = (parts: unknown[]): string => parts.map((part) => (typeof part === 'string' ? part : safeJson(part))).join(' ');
  let level: LogLevel = LogLevel.INFO;
  let name = 'bolt';
  return {
    debug: (...parts: unknown[]) => logger.debug({ module: name }, join(parts)),
    info: (...parts: unknown[]) => logger.info({ module: name }, join(parts)),
    warn: (...parts: unknown[]) => logger.warn({ module: name }, join(parts)),
    error: (...parts: unknown[]) => logger.error({ module: name }, join(parts)),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: (next: string) => {
      name = next;
    },
  };
}

function safeJson(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
