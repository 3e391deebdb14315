/**
 * Bot benchmarks against real Redis and sshd and the fake Slack Web API, all on
 * 127.0.0.1. Every server and process they start is stopped before they return.
 *
 *   npm run bench                      # ack, delay and load
 *   npm run bench -- ack               # one of them (or several: ack delay)
 *   npm run bench -- load --runs 20 --seconds 60 --no-docs
 *
 * Results print as tables and, unless --no-docs, replace the benchmark's section of
 * docs/benchmarks.md.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { benchAckLatency } from './ack-latency.js';
import { REPO, type BotRuntime } from './bot-process.js';
import { benchEventDelay } from './event-delay.js';
import { benchManyRuns } from './many-runs.js';
import { renderAck, renderDelay, renderLoad, writeDocsSection, type RunMeta } from './report.js';

const BENCHMARKS = ['ack', 'delay', 'load'] as const;
type Benchmark = (typeof BENCHMARKS)[number];

const USAGE = `usage: npm run bench -- [${BENCHMARKS.join('|')} ...] [options]

  ack     ack latency of slash commands sent at once to the HTTP receiver
  delay   delay from a step event on the VM to the Slack call that shows it
  load    one bot following many concurrent runs over several VMs

Options (defaults in brackets):
  --commands N        slash commands per burst [200]
  --rounds N          bursts per command [3]
  --delay-steps N     step events in the delay run [30]
  --delay-interval S  seconds between those events [2.7]
  --poll-seconds S    runs.pollSeconds of the bot in the delay run [2, the default]
  --runs N            concurrent runs in the load benchmark [100]
  --vms N             sshd VMs they are spread over [4]
  --channels N        Slack channels they are spread over [10]
  --seconds N         steady window of the load benchmark [90]
  --runtime R         compiled (tsc output, as in Docker) or tsx [compiled]
  --cpu-prof          write a V8 CPU profile of the bot to .trainops/bench-profiles/<benchmark>/
  --no-docs           print only; leave docs/benchmarks.md alone`;

const TITLES: Record<Benchmark, string> = {
  ack: 'Slash command ack latency',
  delay: 'Delay from a step event to Slack',
  load: 'One bot following many concurrent runs',
};

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      commands: { type: 'string', default: '200' },
      rounds: { type: 'string', default: '3' },
      'delay-steps': { type: 'string', default: '30' },
      'delay-interval': { type: 'string', default: '2.7' },
      'poll-seconds': { type: 'string', default: '2' },
      runs: { type: 'string', default: '100' },
      vms: { type: 'string', default: '4' },
      channels: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '90' },
      runtime: { type: 'string', default: 'compiled' },
      'cpu-prof': { type: 'boolean', default: false },
      'no-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const unknown = positionals.filter((name) => !BENCHMARKS.includes(name as Benchmark));
  const runtime = values.runtime as BotRuntime;
  if (unknown.length > 0 || !['compiled', 'tsx'].includes(runtime)) {
    console.error(`unknown benchmark or runtime: ${[...unknown, ...(['compiled', 'tsx'].includes(runtime) ? [] : [runtime])].join(', ')}\n${USAGE}`);
    return 2;
  }
  const selected = positionals.length > 0 ? (positionals as Benchmark[]) : [...BENCHMARKS];
  const number = (name: keyof typeof values): number => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`--${name} must be a positive number, not "${String(values[name])}"`);
    return value;
  };
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, '');
  const docsPath = path.join(REPO, 'docs/benchmarks.md');

  for (const name of selected) {
    const cpuProfileDir = values['cpu-prof'] ? path.join(REPO, '.trainops/bench-profiles', name) : undefined;
    const bot = { runtime, ...(cpuProfileDir ? { cpuProfileDir } : {}) };
    const meta: RunMeta = { date: new Date(), command, runtime, loadBefore: os.loadavg()[0] ?? 0, loadAfter: 0 };
    console.log(`\n## ${TITLES[name]}\n`);
    let body: string;
    if (name === 'ack') {
      const result = await benchAckLatency({ ...bot, count: number('commands'), rounds: number('rounds') });
      meta.loadAfter = os.loadavg()[0] ?? 0;
      body = renderAck(result, meta);
    } else if (name === 'delay') {
      const result = await benchEventDelay({ ...bot, steps: number('delay-steps'), intervalSeconds: number('delay-interval'), pollSeconds: number('poll-seconds') });
      meta.loadAfter = os.loadavg()[0] ?? 0;
      body = renderDelay(result, meta);
    } else {
      const result = await benchManyRuns({ ...bot, runs: number('runs'), vms: number('vms'), seconds: number('seconds'), channels: number('channels') });
      meta.loadAfter = os.loadavg()[0] ?? 0;
      body = renderLoad(result, meta);
    }
    console.log(body);
    if (values['no-docs']) continue;
    // A delay run with another poll interval gets its own section beside the default one.
    const poll = number('poll-seconds');
    const variant = name === 'delay' && poll !== 2 ? { section: `bot-delay-poll-${poll}`, title: `${TITLES.delay}, runs.pollSeconds ${poll}` } : undefined;
    await writeDocsSection(docsPath, variant?.section ?? `bot-${name}`, variant?.title ?? TITLES[name], body);
  }
  return 0;
}

process.exitCode = await main();
