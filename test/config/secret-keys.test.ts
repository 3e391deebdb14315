import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

import { findSecretKeys } from '../../src/config/secret-keys.js';

describe('findSecretKeys', () => {
  it('finds secrets at any depth', () => {
    const data = parse(`
slack: { channel: C0RUNS, botToken: xoxb-canary-1111, app_token: xapp-canary-2222 }
SLACK_SIGNING_SECRET: canary-signing-3333
vms:
  gpu1:
    azure: { subscriptionId: s, resourceGroup: g, vmName: v, clientSecret: canary-azure-4444 }
redis: [{ redis-url: 'redis://:canary-redis-5555@127.0.0.1:6379' }]
`);
    expect(findSecretKeys(data)).toEqual([
      { path: 'slack.botToken', segments: ['slack', 'botToken'], variable: 'SLACK_BOT_TOKEN' },
      { path: 'slack.app_token', segments: ['slack', 'app_token'], variable: 'SLACK_APP_TOKEN' },
      { path: 'SLACK_SIGNING_SECRET', segments: ['SLACK_SIGNING_SECRET'], variable: 'SLACK_SIGNING_SECRET' },
      { path: 'vms.gpu1.azure.clientSecret', segments: ['vms', 'gpu1', 'azure', 'clientSecret'], variable: 'AZURE_CLIENT_SECRET' },
      { path: 'redis.0.redis-url', segments: ['redis', 0, 'redis-url'], variable: 'REDIS_URL' },
    ]);
  });

  it('ignores other keys', () => {
    const data = parse(`
recipes:
  demo: { kind: train, model: m, dataset: d, hyperparameters: { pad_token: '<pad>', max_new_tokens: 64 } }
`);
    expect(findSecretKeys(data)).toEqual([]);
  });

  it('ignores scalars and empty files', () => {
    expect(findSecretKeys(null)).toEqual([]);
    expect(findSecretKeys('token')).toEqual([]);
  });
});
