import { describe, expect, it } from 'vitest';

import { readEnv } from '../src/config/env.js';
import { loadConfig } from '../src/config/load.js';
import { missingSettings } from '../src/main.js';

const example = loadConfig('config/trainops.example.yaml');
const demo = loadConfig('config/demo.yaml');

describe('missingSettings', () => {
  it('lists every missing variable for the socket bot', () => {
    expect(missingSettings('all', example, readEnv({}))).toEqual([
      'REDIS_URL is not set (for example redis://127.0.0.1:6379)',
      'SLACK_BOT_TOKEN is not set (the xoxb- token of the Slack app)',
      'SLACK_APP_TOKEN is not set (the xapp- app-level token with connections:write, for Socket Mode)',
    ]);
  });

  it('needs no app token for a worker', () => {
    expect(missingSettings('worker', example, readEnv({ REDIS_URL: 'redis://127.0.0.1:6379', SLACK_BOT_TOKEN: 'xoxb-1' }))).toEqual([]);
  });

  it('needs only Redis for the console', () => {
    expect(missingSettings('console', demo, readEnv({ REDIS_URL: 'redis://127.0.0.1:6379' }))).toEqual([]);
  });

  it('rejects the bot role in console mode', () => {
    const problems = missingSettings('bot', demo, readEnv({ REDIS_URL: 'redis://127.0.0.1:6379' }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('run `trainops console`');
  });
});
