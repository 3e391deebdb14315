import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { readEnv, SECRET_ENV_NAMES, secretValues } from '../../src/config/env.js';
import { createLogger, REDACTED } from '../../src/logging.js';
import { CANARIES, CANARY_ENV } from '../support/canaries.js';

function capture(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { lines, destination };
}

describe('logger redaction', () => {
  it('removes secrets from fields, messages and errors', () => {
    const env = readEnv(CANARY_ENV);
    const { lines, destination } = capture();
    const logger = createLogger({ secrets: secretValues(env), destination });

    logger.info({ env }, 'environment read');
    logger.info({ headers: { authorization: `Bearer ${env.slackBotToken}` } }, 'request');
    logger.error({ err: new Error(`auth failed for ${env.slackAppToken}`) }, `could not connect with ${env.slackSigningSecret}`);
    logger.child({ userId: 'U1' }).warn(`redis ${env.redisUrl} and azure ${env.azure.clientSecret}`);

    const all = lines.join('');
    expect(lines).toHaveLength(4);
    for (const secret of CANARIES) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain(REDACTED);
    expect(JSON.parse(lines[3]!)).toMatchObject({ userId: 'U1' });
  });
});

/** Objects that carry a secret under a field name, at the depths our code logs them. */
const FIELD_CASES: Array<[string, Record<string, unknown>]> = [
  ['Env', { env: readEnv(CANARY_ENV) }],
  ['Env fields at the top', { slackBotToken: 'xoxb-canary-1111', slackAppToken: 'xapp-canary-2222', slackSigningSecret: 'canary-signing-3333', redisUrl: CANARY_ENV.REDIS_URL }],
  ['Bolt options', { options: { token: 'xoxb-canary-1111', appToken: 'xapp-canary-2222', signingSecret: 'canary-signing-3333' } }],
  ['Azure credential', { credential: { clientSecret: 'canary-azure-4444' } }],
  ['Azure block one level down', { deps: { azure: { clientSecret: 'canary-azure-4444' } } }],
  ['Redis URL one level down', { connection: { redisUrl: CANARY_ENV.REDIS_URL, password: 'canary-redis-5555' } }],
  ['variable names', { env: { ...CANARY_ENV } }],
  ['headers', { request: { headers: { authorization: 'Bearer xoxb-canary-1111', 'x-slack-signature': 'v0=canary-signing-3333' } } }],
];

describe('redact paths', () => {
  // No secret values are passed here, so only the field names can hide them.
  it.each(FIELD_CASES)('%s in a log call', (_case, fields) => {
    const { lines, destination } = capture();
    createLogger({ destination }).info(fields, 'fields');

    expect(lines).toHaveLength(1);
    for (const secret of CANARIES) expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain(REDACTED);
  });

  it.each(FIELD_CASES)('%s in child bindings', (_case, fields) => {
    const { lines, destination } = capture();
    createLogger({ destination }).child({ component: 'jobs' }).child({ module: 'failures' }).child(fields).info('bound');

    expect(lines).toHaveLength(1);
    for (const secret of CANARIES) expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain(REDACTED);
  });

  it('cover every secret variable', () => {
    const { lines, destination } = capture();
    const variables = Object.fromEntries(SECRET_ENV_NAMES.map((name) => [name, `canary-${name}`]));
    createLogger({ destination }).info(variables, 'variables');

    for (const name of SECRET_ENV_NAMES) expect(lines[0]).not.toContain(`canary-${name}`);
  });
});

describe('secret values', () => {
  it('scrubbed from child logger lines', () => {
    const env = readEnv(CANARY_ENV);
    const { lines, destination } = capture();
    const jobs = createLogger({ secrets: secretValues(env), destination }).child({ component: 'jobs' });

    jobs.child({ module: 'failures', note: `token ${env.slackBotToken}` }).warn(`url ${env.redisUrl}`);

    expect(lines).toHaveLength(1);
    for (const secret of CANARIES) expect(lines[0]).not.toContain(secret);
  });
});

