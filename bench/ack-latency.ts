/**
 * Ack latency of slash commands: `count` signed requests sent at once to the Bolt HTTP
 * receiver of a `trainops bot` process, timed by a separate client process from
 * sending each request to receiving its response headers (Bolt responds when the
 * listener calls ack()). Slack gives up after 3,000 ms.
 *
 * Two commands are measured: `/train`, which after its ack creates a run and posts the
 * thread root (the bot role has no workers, so the runs stay queued), and `/help`,
 * which only replies through response_url. The later requests of a burst are acked
 * while the earlier ones do that work on the same event loop.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { REPO, SIGNING_SECRET, botLogPath, startBotProcess, writeConfig, type BotProcess, type BotSettings } from './bot-process.js';
import { benchConfig, MEMBER, startRig } from './rig.js';
import { signSlashCommand, type SignedRequest } from './slash-command.js';
import { median, summarize, type LatencySummary } from './stats.js';

export interface AckOptions extends BotSettings {
  count: number;
  rounds: number;
}

export interface AckVariant {
  /** The command as typed, `/train bench-ack on local`. */
  label: string;
  rounds: LatencySummary[];
  /** Every request of every round. */
  all: LatencySummary;
  /** Median over rounds of each round's p99. */
  medianP99: number;
  /** Bot CPU time (user + system) from just before a burst until its last response, per command; median over rounds. */
  cpuMsPerCommand: number;
  /** Responses other than HTTP 200. */
  failures: number;
}

export interface AckResult {
  count: number;
  variants: AckVariant[];
  /** `/train` commands that became stored runs, of those sent (checked up to 30 s after the last burst). */
  runsCreated: { stored: number; sent: number };
  /** The first request to a fresh bot, alone. */
  firstRequestMs: number;
  /**
   * The same bursts against a bare `node:http` server in its own process that reads the
   * body and responds 200: what the client, the loopback and the shared machine add
   * whatever the server does.
   */
  floor: LatencySummary;
}

interface BurstResult {
  status: number;
  ms: number;
}

const CHANNEL = 'C0BENCHACK';
const COMMANDS = [
  { command: '/train', text: 'bench-ack on local' },
  { command: '/help', text: '' },
];

export async function benchAckLatency(options: AckOptions): Promise<AckResult> {
  const rig = await startRig({ vms: 0 });
  try {
    const configPath = await writeConfig(rig.dir, benchConfig(rig, { recipe: 'bench-ack', hyperparameters: {}, channel: CHANNEL }));
    const bot = await startBotProcess({ runtime: options.runtime, cpuProfileDir: options.cpuProfileDir, role: 'bot', configPath, redisUrl: rig.redis.url, slackApiUrl: rig.slack.url, logPath: botLogPath('ack') });
    try {
      const endpoint = `http://127.0.0.1:${rig.httpPort}/slack/commands`;
      const responseBase = rig.slack.url.replace(/\/api\/$/, '');
      const sign = (command: string, text: string, triggerId: string): SignedRequest =>
        signSlashCommand({ command, text, userId: MEMBER, channelId: CHANNEL, triggerId, responseBase }, SIGNING_SECRET, new Date());

      const [first] = (await sendBurst(endpoint, [sign('/help', '', 'first.0')])) as [BurstResult];
      await sleep(2000);

      const variants: AckVariant[] = [];
      for (const { command, text } of COMMANDS) {
        variants.push(await measureVariant(bot, endpoint, options, `${command} ${text}`.trim(), (triggerId) => sign(command, text, triggerId)));
      }

      const sent = options.count * options.rounds;
      const stored = await waitForCount(() => rig.store.listRecent(sent).then((runs) => runs.length), sent, 30_000);
      const floor = await measureFloor(options, (triggerId) => sign('/help', '', triggerId));
      if (bot.logLevels().error > 0) console.warn(`bot logged ${bot.logLevels().error} errors; see ${bot.logPath}`);

      return { count: options.count, variants, runsCreated: { stored, sent }, firstRequestMs: first.ms, floor };
    } finally {
      await bot.stop();
    }
  } finally {
    await rig.stop();
  }
}

async function measureVariant(
  bot: BotProcess,
  endpoint: string,
  options: AckOptions,
  label: string,
  sign: (triggerId: string) => SignedRequest,
): Promise<AckVariant> {
  const rounds: LatencySummary[] = [];
  const all: number[] = [];
  const cpuMs: number[] = [];
  let failures = 0;
  for (let round = 0; round < options.rounds; round += 1) {
    // Signing happens before the burst: the client process only sends.
    const requests = Array.from({ length: options.count }, (_, index) => sign(`${label.slice(1, 6)}.${round + 1}.${index + 1}`));
    const cpuBefore = (await bot.usage()).cpuMs;
    const results = await sendBurst(endpoint, requests);
    cpuMs.push((await bot.usage()).cpuMs - cpuBefore);
    failures += results.filter((result) => result.status !== 200).length;
    const times = results.map((result) => result.ms);
    rounds.push(summarize(times));
    all.push(...times);
    await sleep(5000);
  }
  return {
    label,
    rounds,
    all: summarize(all),
    medianP99: median(rounds.map((round) => round.p99)),
    cpuMsPerCommand: median(cpuMs) / options.count,
    failures,
  };
}

const BARE_SERVER = `
const http = require('node:http');
const server = http.createServer((request, response) => {
  request.resume();
  request.on('end', () => { response.writeHead(200); response.end(); });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** Sends the same bursts to a bare HTTP server in a child process; returns the latency of all of them. */
async function measureFloor(options: AckOptions, sign: (triggerId: string) => SignedRequest): Promise<LatencySummary> {
  const child = spawn(process.execPath, ['-e', BARE_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line)));
      child.once('exit', (code) => reject(new Error(`bare HTTP server exited with code ${code}`)));
    });
    const endpoint = `http://127.0.0.1:${port}/slack/commands`;
    await sendBurst(endpoint, [sign('floor.first')]);
    const times: number[] = [];
    for (let round = 0; round < options.rounds; round += 1) {
      const requests = Array.from({ length: options.count }, (_, index) => sign(`floor.${round + 1}.${index + 1}`));
      times.push(...(await sendBurst(endpoint, requests)).map((result) => result.ms));
      await sleep(1000);
    }
    return summarize(times);
  } finally {
    child.kill('SIGTERM');
  }
}

/** Sends `requests` at once from a child process (bench/burst-client.ts); resolves with each result in order. */
async function sendBurst(endpoint: string, requests: SignedRequest[]): Promise<BurstResult[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'bench/burst-client.ts'), endpoint], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin!.end(JSON.stringify(requests));
  const output = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`burst client exited with code ${code}`))));
  });
  return JSON.parse(output) as BurstResult[];
}

async function waitForCount(read: () => Promise<number>, expected: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const count = await read();
    if (count >= expected || Date.now() > deadline) return count;
    await sleep(500);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
