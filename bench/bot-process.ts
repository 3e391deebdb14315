/**
 * The bot under test as its own process running `main()` of src/main.ts, with a
 * generated config and its logs in a file. By default it runs JavaScript compiled by
 * tsc, as the Docker image does. The `tsx` runtime runs the TypeScript sources as
 * `npm start` does, and tsx's loader thread adds to the memory. CPU time and memory are
 * read from /proc/<pid>, so the numbers cover the bot alone and not the fake Slack,
 * Redis or sshd that the benchmark process hosts.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

import { stringify } from 'yaml';

import type { ConfigInput } from '../src/config/schema.js';

export const REPO = path.resolve(import.meta.dirname, '..');
/** Fake credentials: the bot only ever talks to the fake Slack Web API. */
export const BOT_TOKEN = 'xoxb-bench-not-a-real-token';
export const SIGNING_SECRET = 'bench-signing-secret-4d1f0c';
/** Compiled output for the benchmarks, in an ignored folder: a `dist/` would change what `bin/trainops.mjs` runs for everyone. */
const COMPILED_DIR = path.join(REPO, '.trainops/bench-dist');

export type BotRuntime = 'compiled' | 'tsx';

/** Settings every benchmark passes to the bot process. */
export interface BotSettings {
  runtime: BotRuntime;
  /** Folder for a V8 CPU profile of the bot (`node --cpu-prof`), written when it exits. Unset: no profile. */
  cpuProfileDir?: string;
}

/** Returns where a benchmark keeps the bot's log, in the ignored `.trainops/` folder so it outlives the run. */
export function botLogPath(benchmark: string): string {
  mkdirSync(path.join(REPO, '.trainops'), { recursive: true });
  return path.join(REPO, '.trainops', `bench-${benchmark}-bot.log`);
}

/** Linux clock ticks per second of utime and stime in /proc/<pid>/stat (`getconf CLK_TCK`, 100 on x86-64 Linux). */
const CLOCK_TICKS = 100;

export interface ProcessUsage {
  /** User plus system CPU time in ms, as `process.cpuUsage()` in the bot would report it. */
  cpuMs: number;
  rssBytes: number;
  /** Peak resident set size (VmHWM). */
  peakRssBytes: number;
}

export interface BotProcess {
  pid: number;
  logPath: string;
  usage(): Promise<ProcessUsage>;
  /** Counts of log lines at warn (40) and error (50) level or above so far. */
  logLevels(): { warn: number; error: number };
  /** Sends SIGTERM and waits for exit; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface BotProcessOptions extends BotSettings {
  role: 'all' | 'bot' | 'worker';
  configPath: string;
  redisUrl: string;
  slackApiUrl: string;
  logPath: string;
  /** Milliseconds to wait for the "trainops started" log line. */
  startTimeoutMs?: number;
}

export async function writeConfig(dir: string, config: ConfigInput): Promise<string> {
  const configPath = path.join(dir, 'trainops.yaml');
  await writeFile(configPath, stringify(config));
  return configPath;
}

export async function startBotProcess(options: BotProcessOptions): Promise<BotProcess> {
  const entry = options.runtime === 'compiled' ? await compiledEntry() : path.join(REPO, 'bin/trainops.mjs');
  const profileArgs = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const child = spawn(process.execPath, [...profileArgs, entry, options.role], {
    cwd: REPO,
    env: {
      ...process.env,
      TRAINOPS_CONFIG: options.configPath,
      REDIS_URL: options.redisUrl,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: options.slackApiUrl,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the bot process');

  const log = createWriteStream(options.logPath);
  const levels = { warn: 0, error: 0 };
  let started: () => void = () => {};
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    log.write(`${line}\n`);
    const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
    if (level >= 50) levels.error += 1;
    else if (level >= 40) levels.warn += 1;
    if (line.includes('"trainops started"')) started();
  });
  createInterface({ input: child.stderr! }).on('line', (line) => log.write(`stderr: ${line}\n`));

  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`bot process exited early (code ${code}, signal ${signal}); see ${options.logPath}`)));
  });
  exited.catch(() => {});
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bot process did not log "trainops started" within ${timeoutMs} ms; see ${options.logPath}`)), timeoutMs);
  });
  try {
    await Promise.race([startedPromise, exited, timedOut]);
  } catch (error) {
    await stopChild(child, 5000);
    throw error;
  } finally {
    clearTimeout(timer);
  }

  let stopping: Promise<void> | undefined;
  return {
    pid,
    logPath: options.logPath,
    usage: () => readUsage(pid),
    logLevels: () => ({ ...levels }),
    stop: (graceMs = 20_000) => {
      stopping ??= (async () => {
        await stopChild(child, graceMs);
        await new Promise<void>((resolve) => log.end(resolve));
      })();
      return stopping;
    },
  };
}

let compiling: Promise<string> | undefined;

/** Compiles src/ with tsconfig.build.json once per benchmark process; returns an entry script that runs main(). */
function compiledEntry(): Promise<string> {
  compiling ??= (async () => {
    const tsc = [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', COMPILED_DIR];
    try {
      await promisify(execFile)(process.execPath, tsc, { cwd: REPO });
    } catch (error) {
      // tsc still emits when it reports type errors, so the benchmark can go on with a warning.
      const output = String((error as { stdout?: unknown }).stdout ?? error).split('\n').slice(0, 5).join('\n');
      console.warn(`tsc reported errors; benchmarking the JavaScript it emitted anyway:\n${output}`);
    }
    const entry = path.join(COMPILED_DIR, 'bench-entry.mjs');
    await writeFile(entry, "import { main } from './main.js';\nprocess.exit(await main(process.argv.slice(2)));\n");
    return entry;
  })();
  return compiling;
}

async function readUsage(pid: number): Promise<ProcessUsage> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { cpuMs: (ticks * 1000) / CLOCK_TICKS, rssBytes: kib('VmRSS') * 1024, peakRssBytes: kib('VmHWM') * 1024 };
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
