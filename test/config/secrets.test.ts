import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { readEnv, secretValues } from '../../src/config/env.js';
import { createLogger, REDACTED } from '../../src/logging.js';

const CANARY_ENV = {
  SLACK_BOT_TOKEN: 'xoxb-canary-1111',
  SLACK_APP_TOKEN: 'xapp-canary-2222',
  SLACK_SIGNING_SECRET: 'canary-signing-3333',
  AZURE_CLIENT_SECRET: 'canary-azure-4444',
  REDIS_URL: 'redis://:canary-redis-5555@127.0.0.1:6379',
};

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
    for (const secret of ['xoxb-canary-1111', 'xapp-canary-2222', 'canary-signing-3333', 'canary-azure-4444', 'canary-redis-5555']) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain(REDACTED);
    expect(JSON.parse(lines[3]!)).toMatchObject({ userId: 'U1' });
  });
});
