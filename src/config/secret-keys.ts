import { SECRET_ENV_NAMES } from './env.js';

/**
 * Secret settings written into the YAML file by mistake. The schema drops keys it does
 * not know without a word, so a pasted `botToken: xoxb-…` would be ignored while the
 * bot still lacks its token, and the file would carry a secret into version control.
 */
export interface SecretKey {
  /** Dotted path of the key, such as `slack.botToken`. */
  path: string;
  /** The same path as a list of keys and list indexes, such as `['slack', 'botToken']`. */
  segments: (string | number)[];
  /** Environment variable that carries this secret instead. */
  variable: string;
}

/** Secret key names, lowercased without `_` or `-`, with the variable that replaces each. */
const VARIABLE_BY_KEY: ReadonlyMap<string, string> = new Map([
  ['token', 'SLACK_BOT_TOKEN'],
  ['bottoken', 'SLACK_BOT_TOKEN'],
  ['apptoken', 'SLACK_APP_TOKEN'],
  ['signingsecret', 'SLACK_SIGNING_SECRET'],
  ['clientsecret', 'AZURE_CLIENT_SECRET'],
  ['password', 'REDIS_URL'],
  ['redisurl', 'REDIS_URL'],
  ...SECRET_ENV_NAMES.map((name): [string, string] => [normalize(name), name]),
]);

/** Lists the keys anywhere in `data` (the file's YAML data) that name a secret. Values are never read. */
export function findSecretKeys(data: unknown, path: readonly (string | number)[] = []): SecretKey[] {
  if (Array.isArray(data)) {
    return data.flatMap((item: unknown, index) => findSecretKeys(item, [...path, index]));
  }
  if (typeof data !== 'object' || data === null) return [];

  const found: SecretKey[] = [];
  for (const [key, value] of Object.entries(data)) {
    const variable = VARIABLE_BY_KEY.get(normalize(key));
    if (variable) found.push({ path: [...path, key].join('.'), segments: [...path, key], variable });
    found.push(...findSecretKeys(value, [...path, key]));
  }
  return found;
}

function normalize(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}
