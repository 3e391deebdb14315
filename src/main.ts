import { mkdirSync, createWriteStream } from 'node:fs';
import path from 'node:path';

import type { Logger } from 'pino';

import { createBotApp, type BotApp } from './bot/app.js';
import { checkConfigFile, parseCheckConfigArgs } from './check-config.js';
import type { ChatPort } from './bot/chat-port.js';
import { ConsoleChat } from './bot/console-chat.js';
import { runConsoleSession } from './bot/console-session.js';
import { createHandlerDeps } from './bot/handler-deps.js';
import { translate, translator } from './bot/i18n.js';
import { handleDatasetUpload } from './commands/dataset-upload.js';
import { checkSharedFile } from './jobs/dataset-upload.js';
import { findPythonRoot } from './remote/code-sync.js';
import { RedisRequestDeduper } from './bot/request-dedupe.js';
import { SlackChat } from './bot/slack-chat.js';
import { createCommandRegistry } from './commands/index.js';
import { readEnv, redactUrl, secretValues, type Env } from './config/env.js';
import { ConfigError, loadConfigFile, type LocatedUnknownKey } from './config/load.js';
import { describeUnknownKey, logUnknownKeys } from './config/unknown-keys.js';
import type { Config } from './config/schema.js';
import { systemClock } from './jobs/clock.js';
import { createPlanRuntime, type PlanRuntime } from './jobs/plan-runtime.js';
import { createVmRuntime } from './jobs/auto-stop-runtime.js';
import { createJobsRuntime, type JobsRuntime } from './jobs/runtime.js';
import type { RunRecord } from './jobs/run-types.js';
import { createLogger, secretScrubber } from './logging.js';
import { RoutingVmControl } from './remote/always-on-vm-control.js';
import { createAzureCredential, incompleteServicePrincipal } from './remote/azure-credential.js';
import { AzureVmControl } from './remote/azure-vm-control.js';
import { HostPool } from './remote/host-pool.js';
import type { VmControl } from './remote/vm-control.js';
import { Redis } from 'ioredis';

/**
 * `trainops [all|bot|worker|console]`: one program, several roles. `bot` receives Slack
 * requests, `worker` runs the jobs, `all` (the default) does both in one process, and
 * `console` plays Slack in this terminal (also what `all` does when `slack.mode` is
 * `console`). More workers can join at any time against the same Redis.
 */
export type Role = 'all' | 'bot' | 'worker' | 'console';

const ROLES: readonly Role[] = ['all', 'bot', 'worker', 'console'];
/**
 * BullMQ queue of runs. NOTE: the default name `runs` puts BullMQ's `<prefix>:runs:active`
 * list on the RunStore's `<prefix>:runs:active` set (WRONGTYPE errors), so the runtime
 * gets another name until the two key schemes are separated.
 */
const RUN_QUEUE = 'run-jobs';
const USAGE = `usage: trainops [${ROLES.join('|')}]
       trainops check-config [--strict] [path]

  all           Slack receiver and job workers in one process (default)
  bot           Slack receiver only
  worker        job workers only
  console       play Slack in this terminal (the demo)
  check-config  validate a config file (default TRAINOPS_CONFIG) and exit: 0 when usable;
                --strict also exits 1 on warnings such as unknown keys

Environment: TRAINOPS_CONFIG (default config/trainops.yaml), REDIS_URL, SLACK_BOT_TOKEN,
SLACK_APP_TOKEN (Socket Mode), SLACK_SIGNING_SECRET (HTTP), AZURE_* , LOG_LEVEL.`;

export async function main(argv: readonly string[]): Promise<number> {
  const word = argv[0] ?? 'all';
  if (word === '--help' || word === '-h' || word === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (word === 'check-config') {
    const args = parseCheckConfigArgs(argv.slice(1));
    if (!args.ok) {
      process.stderr.write(`trainops: ${args.message}\n${USAGE}\n`);
      return 2;
    }
    const env = readEnv();
    const check = checkConfigFile(args.path ?? env.configPath, { localPython: env.localPython, baseDir: process.cwd(), secrets: secretValues(env), strict: args.strict });
    for (const line of check.report) process.stdout.write(`${line}\n`);
    for (const line of check.problems) process.stderr.write(`${line}\n`);
    return check.ok ? 0 : 1;
  }
  if (!ROLES.includes(word as Role)) {
    process.stderr.write(`trainops: unknown role "${word}"\n${USAGE}\n`);
    return 2;
  }

  const env = readEnv();
  let config: Config;
  let unknownKeys: readonly LocatedUnknownKey[];
  try {
    ({ config, unknownKeys } = loadConfigFile(env.configPath, { localPython: env.localPython, baseDir: process.cwd() }));
  } catch (error) {
    if (error instanceof ConfigError) {
      // Refuse to start and list every problem, scrubbed of secrets as check-config's output is.
      // Unknown keys follow, because a misspelt key is often why a required one is missing.
      const unknownKeyLines = error.unknownKeys.map((key) => `warning: ${describeUnknownKey(key, key.line)}\n`);
      process.stderr.write(secretScrubber(secretValues(env))(`${error.message}\n${unknownKeyLines.join('')}`));
      return 1;
    }
    throw error;
  }

  const role: Role = word === 'all' && config.slack.mode === 'console' ? 'console' : (word as Role);
  const problems = missingSettings(role, config, env);
  if (problems.length > 0) {
    process.stderr.write(`trainops ${role} cannot start:\n${problems.map((line) => `  ${line}`).join('\n')}\n`);
    return 1;
  }

  return role === 'console' ? runConsole(config, env, unknownKeys) : runServer(role, config, env, unknownKeys);
}

/** Lists every environment variable the role needs and lacks, so all are reported together. */
export function missingSettings(role: Role, config: Config, env: Env): string[] {
  const problems: string[] = [];
  if (!env.redisUrl) problems.push('REDIS_URL is not set (for example redis://127.0.0.1:6379)');
  const azureProblem = Object.values(config.vms).some((vm) => vm.azure) ? incompleteServicePrincipal(env.azure) : undefined;
  if (azureProblem) problems.push(azureProblem);
  if (role === 'console') return problems;
  if (config.slack.mode === 'console') {
    problems.push(`slack.mode is console, which plays Slack in one terminal process: run \`trainops console\` instead of \`trainops ${role}\``);
    return problems;
  }

  if (!env.slackBotToken) problems.push('SLACK_BOT_TOKEN is not set (the xoxb- token of the Slack app)');
  if (role !== 'worker') {
    if (config.slack.mode === 'socket' && !env.slackAppToken) {
      problems.push('SLACK_APP_TOKEN is not set (the xapp- app-level token with connections:write, for Socket Mode)');
    }
    if (config.slack.mode === 'http' && !env.slackSigningSecret) {
      problems.push('SLACK_SIGNING_SECRET is not set (Basic Information > Signing Secret, for the HTTP receiver)');
    }
  }
  return problems;
}

function createVmControl(config: Config, env: Env, logger: Logger): VmControl {
  const managed = Object.values(config.vms).some((vm) => vm.azure !== undefined);
  if (!managed) return new RoutingVmControl(undefined);
  const credential = createAzureCredential(env.azure);
  return new RoutingVmControl(
    new AzureVmControl({
      vms: config.vms,
      credential,
      ...(env.azure.resourceManagerUrl ? { endpoint: env.azure.resourceManagerUrl } : {}),
      logger: logger.child({ component: 'azure' }),
    }),
  );
}

async function runServer(role: Exclude<Role, 'console'>, config: Config, env: Env, unknownKeys: readonly LocatedUnknownKey[]): Promise<number> {
  const logger = createLogger({ level: env.logLevel, secrets: secretValues(env) });
  const redisUrl = env.redisUrl!;
  logger.info({ role, config: env.configPath, redis: redactUrl(redisUrl), mode: config.slack.mode }, 'trainops starting');
  logUnknownKeys(logger, unknownKeys);

  const chat = new SlackChat({ token: env.slackBotToken!, ...(env.slackApiUrl ? { slackApiUrl: env.slackApiUrl } : {}) });
  const hosts = new HostPool(config.vms, logger.child({ component: 'hosts' }));
  // Records every start and deallocation for the weekly savings, and owns the idle auto-stop.
  const vms = createVmRuntime({ config, redisUrl, chat, hosts, vmControl: createVmControl(config, env, logger), logger });
  const vmControl = vms.control;
  // The plan follows runs through the jobs runtime's hook, and lists its active runs.
  let plan: PlanRuntime | undefined;
  const onRunChanged = async (run: RunRecord): Promise<void> => plan?.onRunUpdated(run);
  const jobs = createJobsRuntime({ config, redisUrl, chat, hosts, vmControl, logger, queueName: RUN_QUEUE, onRunChanged });
  plan = createPlanRuntime({ config, redisUrl, chat, runs: jobs.runStore, logger });
  if (role !== 'bot') jobs.startWorkers();
  if (role !== 'bot') await plan.start();
  if (role !== 'bot') await vms.startAutoStop({ runs: jobs.runStore });

  let bot: BotApp | undefined;
  let redis: Redis | undefined;
  if (role !== 'worker') {
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const registry = createCommandRegistry();
    const deps = { ...createHandlerDeps({ config, jobs, chat, clock: systemClock, logger, registry, vmControl, hosts, plan: plan.ports }), vm: vms.ports };
    const planRuntime = plan;
    bot = createBotApp({
      onHomeOpened: (userId) => planRuntime.publishHome(userId),
      onFileShare: (message) =>
        handleDatasetUpload(message, {
          config,
          chat,
          t: translator(config.locale),
          logger,
          checkFile: (file, recipe) =>
            checkSharedFile(file, {
              token: env.slackBotToken!,
              python: env.localPython ?? 'python3',
              pythonRoot: findPythonRoot(),
              ...(recipe ? { recipe } : {}),
            }),
        }),
      botToken: env.slackBotToken!,
      ...(env.slackApiUrl ? { slackApiUrl: env.slackApiUrl } : {}),
      receiver:
        config.slack.mode === 'http'
          ? { mode: 'http', signingSecret: env.slackSigningSecret!, port: config.slack.port }
          : { mode: 'socket', appToken: env.slackAppToken! },
      deps,
      dedupe: new RedisRequestDeduper(redis, config.redisPrefix),
      logger,
    });
    await bot.start();
  }

  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info({ role }, 'trainops started');
  await stopped;

  logger.info({ role }, 'trainops stopping');
  await bot?.stop();
  await plan.close();
  await vms.close();
  await jobs.close();
  await hosts.closeAll();
  redis?.disconnect();
  logger.info({ role }, 'trainops stopped');
  return 0;
}

async function runConsole(config: Config, env: Env, unknownKeys: readonly LocatedUnknownKey[]): Promise<number> {
  // Logs go to a file so they do not interleave with the chat on the terminal.
  const logDir = path.resolve('.trainops');
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'console.log');
  const logger = createLogger({ level: env.logLevel, secrets: secretValues(env), destination: createWriteStream(logFile, { flags: 'a' }) });
  logger.info({ config: env.configPath, redis: redactUrl(env.redisUrl!) }, 'console starting');
  logUnknownKeys(logger, unknownKeys);

  const t = (key: string): string => translate(config.locale, key);
  const chat = new ConsoleChat({
    output: process.stdout,
    fileDir: path.join(logDir, 'files'),
    timezone: config.timezone,
    labels: { ephemeral: t('console.ephemeral'), updated: t('console.updated'), file: t('console.file') },
    userNames: Object.fromEntries(config.team.members.map((member) => [member.id, member.name])),
  });
  const hosts = new HostPool(config.vms, logger.child({ component: 'hosts' }));
  // The console demo's VMs are local, so no auto-stop runs here; `/vm` still works.
  const vms = createVmRuntime({ config, redisUrl: env.redisUrl!, chat: chat as ChatPort, hosts, vmControl: createVmControl(config, env, logger), logger });
  const vmControl = vms.control;
  let plan: PlanRuntime | undefined;
  const onRunChanged = async (run: RunRecord): Promise<void> => plan?.onRunUpdated(run);
  const jobs = createJobsRuntime({ config, redisUrl: env.redisUrl!, chat: chat as ChatPort, hosts, vmControl, logger, queueName: RUN_QUEUE, onRunChanged });
  plan = createPlanRuntime({ config, redisUrl: env.redisUrl!, chat: chat as ChatPort, runs: jobs.runStore, logger });
  jobs.startWorkers();
  await plan.start();

  const registry = createCommandRegistry();
  const deps = { ...createHandlerDeps({ config, jobs, chat, clock: systemClock, logger, registry, vmControl, hosts, plan: plan.ports }), vm: vms.ports };
  const member = config.team.members.find((candidate) => candidate.roles.includes('admin')) ?? config.team.members[0]!;

  let code: number;
  try {
    // A piped session waits for the last thread replies (final post, loss chart) before
    // its closing line; a person pressing Ctrl+D leaves at once.
    code = await runConsoleSession({
      deps,
      chat,
      input: process.stdin,
      output: process.stdout,
      userId: member.id,
      settle: () => waitForIdleQueue(jobs),
    });
  } finally {
    await plan.close();
    await vms.close();
    await jobs.close();
    await hosts.closeAll();
  }
  chat.note(translate(config.locale, 'console.log_file', { path: logFile }));
  return code;
}

/** Waits until no run job is active or waiting, so the last thread replies are posted before closing. */
async function waitForIdleQueue(jobs: JobsRuntime, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const counts = await jobs.runQueue.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
    if (Object.values(counts).every((count) => count === 0)) return;
    await systemClock.sleep(200);
  }
}
