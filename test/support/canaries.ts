/** Secret environment variables with canary values, which no log line or message may contain. */
export const CANARY_ENV = {
  SLACK_BOT_TOKEN: 'xoxb-canary-1111',
  SLACK_APP_TOKEN: 'xapp-canary-2222',
  SLACK_SIGNING_SECRET: 'canary-signing-3333',
  AZURE_CLIENT_SECRET: 'canary-azure-4444',
  REDIS_URL: 'redis://:canary-redis-5555@127.0.0.1:6379',
};

/** The secret part of each CANARY_ENV value: for REDIS_URL, only its password. */
export const CANARIES = ['xoxb-canary-1111', 'xapp-canary-2222', 'canary-signing-3333', 'canary-azure-4444', 'canary-redis-5555'];
