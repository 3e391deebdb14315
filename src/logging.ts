import { Writable } from 'node:stream';

import pino, { type DestinationStream, type Logger } from 'pino';

import { SECRET_ENV_NAMES } from './config/env.js';

/**
 * The process logger: pino JSON lines with secrets removed twice over. `redact` blanks
 * fields whose names mark a secret (tokens, passwords, authorization headers). The
 * output stream then replaces every known secret value wherever it appears, so a token
 * quoted inside an error message or a stack trace does not reach the log either.
 *
 * Child loggers: pino writes every binding of every ancestor, so a key bound twice
 * appears twice in one JSON line. Only the runtimes that main.ts builds (jobs, plan, vm,
 * slack, hosts, azure) bind `component`, on a child of this logger. The parts inside a
 * runtime bind `module` instead (failures, plan-jobs, auto-stop, Bolt's own names).
 */
export interface LoggerOptions {
  level?: string;
  /** Secret values to scrub from every line (tokens, signing secret, Redis password). */
  secrets?: readonly string[];
  /** Destination of the log lines (default stdout). */
  destination?: DestinationStream | NodeJS.WritableStream;
}

export const REDACTED = '[redacted]';

/**
 * Field names that carry a secret wherever they appear: the Env fields, the Slack and
 * Azure option names, and the variable names themselves (for a logged copy of the
 * environment). `redisUrl` is replaced whole because its password sits inside the URL,
 * so log `redactUrl(url)` instead.
 */
const SECRET_FIELDS = [
  'token',
  'botToken',
  'appToken',
  'slackBotToken',
  'slackAppToken',
  'signingSecret',
  'slackSigningSecret',
  'clientSecret',
  'password',
  'authorization',
  'redisUrl',
  ...SECRET_ENV_NAMES,
];

// pino's `*` matches one level, so each name is listed at the top and one level down,
// plus the deeper places where our own objects put them (Env's azure block, HTTP headers).
const REDACT_PATHS = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]),
  'headers["x-slack-signature"]',
  '*.headers.authorization',
  '*.headers["x-slack-signature"]',
  '*.azure.clientSecret',
];

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stdout;
  const secrets = (options.secrets ?? []).filter((secret) => secret.length >= 4);
  const stream = secrets.length > 0 ? scrubbingStream(destination, secrets) : (destination as DestinationStream);
  return pino(
    {
      level: options.level ?? 'info',
      base: { name: 'trainops' },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      serializers: { err: pino.stdSerializers.err },
    },
    stream,
  );
}

/** Wraps `destination` in a stream that replaces each secret value in a log line before writing it. */
export function scrubbingStream(destination: DestinationStream | NodeJS.WritableStream, secrets: readonly string[]): DestinationStream {
  const scrub = secretScrubber(secrets);

  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      destination.write(scrub(chunk.toString()));
      callback();
    },
  }) as unknown as DestinationStream;
}

/**
 * Builds a function that replaces every value of `secrets` (4 characters or longer) in a
 * text with REDACTED, for log lines and for output shown to people.
 */
export function secretScrubber(secrets: readonly string[]): (text: string) => string {
  // The longer secrets are replaced first, so a secret that contains another is replaced
  // whole. Each is matched both raw and JSON-escaped, as it appears inside a log line.
  const needles = [...new Set(secrets.filter((secret) => secret.length >= 4).flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)]))].sort(
    (a, b) => b.length - a.length,
  );
  return (text) => needles.reduce((scrubbed, needle) => scrubbed.split(needle).join(REDACTED), text);
}
