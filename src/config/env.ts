/**
 * The environment, read once at start. This is the only module that touches
 * `process.env`; everything else receives the frozen `Env` it returns. Secrets live
 * here and nowhere else: the YAML config never carries a token or a key.
 */
export interface AzureCredentialEnv {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  subscriptionId?: string;
  /** Base URL of Azure Resource Manager; tests point it at a local fake. */
  resourceManagerUrl?: string;
}

export interface Env {
  /** Path of the YAML config (`TRAINOPS_CONFIG`, default `config/trainops.yaml`). */
  configPath: string;
  slackBotToken?: string;
  slackAppToken?: string;
  slackSigningSecret?: string;
  /** Base URL of the Slack Web API (`SLACK_API_URL`); tests point it at a local fake. */
  slackApiUrl?: string;
  redisUrl?: string;
  azure: AzureCredentialEnv;
  /** Python used for `transport: local` VMs that name none (`TRAINOPS_PYTHON`). */
  localPython?: string;
  /** pino level (`LOG_LEVEL`, default `info`). */
  logLevel: string;
}

/** Names of every secret variable, for log redaction and the canary tests. */
export const SECRET_ENV_NAMES = [
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_SIGNING_SECRET',
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PASSWORD',
  'REDIS_URL',
] as const;

type Source = Readonly<Record<string, string | undefined>>;

/** Reads the variables TrainOps uses from `source` (default `process.env`); empty values count as unset. */
export function readEnv(source: Source = process.env): Readonly<Env> {
  const value = (name: string): string | undefined => {
    const raw = source[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };

  const env: Env = {
    configPath: value('TRAINOPS_CONFIG') ?? 'config/trainops.yaml',
    slackBotToken: value('SLACK_BOT_TOKEN'),
    slackAppToken: value('SLACK_APP_TOKEN'),
    slackSigningSecret: value('SLACK_SIGNING_SECRET'),
    slackApiUrl: value('SLACK_API_URL'),
    redisUrl: value('REDIS_URL'),
    azure: Object.freeze({
      tenantId: value('AZURE_TENANT_ID'),
      clientId: value('AZURE_CLIENT_ID'),
      clientSecret: value('AZURE_CLIENT_SECRET'),
      subscriptionId: value('AZURE_SUBSCRIPTION_ID'),
      resourceManagerUrl: value('AZURE_RESOURCE_MANAGER_URL'),
    }),
    localPython: value('TRAINOPS_PYTHON'),
    logLevel: value('LOG_LEVEL') ?? 'info',
  };
  return Object.freeze(env);
}

/** The secret values present in `env`, for redaction of free text and for tests. */
export function secretValues(env: Env): string[] {
  const candidates = [env.slackBotToken, env.slackAppToken, env.slackSigningSecret, env.azure.clientSecret, redisPassword(env.redisUrl)];
  return candidates.filter((secret): secret is string => secret !== undefined && secret.length >= 4);
}

function redisPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.password ? decodeURIComponent(parsed.password) : undefined;
  } catch {
    return undefined;
  }
}

/** The Redis URL with any password replaced by `***`, safe to log. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
