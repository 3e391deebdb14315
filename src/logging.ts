import { Writable } from 'node:stream';

import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * The process logger: pino JSON lines with secrets removed twice over. `redact` blanks
 * fields that hold secrets by name (tokens, passwords, authorization headers), and the
 * output stream replaces every known secret value wherever it appears, so a token
 * quoted inside an error message or a stack trace never reaches the log either.
 */
export interface LoggerOptions {
  level?: string;
  /** Secret values to scrub from every line (tokens, signing secret, Redis password). */
  secrets?: readonly string[];
  /** Where lines go (default stdout). */
  destination?: DestinationStream | NodeJS.WritableStream;
}

export const REDACTED = '[redacted]';

const REDACT_PATHS = [
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  'clientSecret',
  'password',
  'authorization',
  'headers.authorization',
  'headers["x-slack-signature"]',
  '*.token',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  '*.clientSecret',
  '*.password',
  '*.authorization',
  '*.headers.authorization',
  'env.slackBotToken',
  'env.slackAppToken',
  'env.slackSigningSecret',
  'env.redisUrl',
  'env.azure.clientSecret',
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

/** A stream that replaces each secret value in a log line before passing it on. */
export function scrubbingStream(destination: DestinationStream | NodeJS.WritableStream, secrets: readonly string[]): DestinationStream {
  // Longest first, so a secret that contains another is replaced whole. Values are
  // matched both raw and as they appear JSON-escaped inside a log line.
  const needles = [...new Set(secrets.flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)]))].sort((a, b) => b.length - a.length);
  const scrub = (line: string): string => needles.reduce((text, needle) => text.split(needle).join(REDACTED), line);

  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      destination.write(scrub(chunk.toString()));
      callback();
    },
  }) as unknown as DestinationStream;
}
