/**
 * Renders benchmark results as Markdown for the terminal and for docs/benchmarks.md.
 * Each benchmark owns the text between its two markers in that file, so a rerun of one
 * benchmark replaces only its own numbers.
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';

import type { AckResult } from './ack-latency.js';
import type { DelayResult } from './event-delay.js';
import type { LoadResult } from './many-runs.js';
import type { LatencySummary } from './stats.js';

export interface RunMeta {
  date: Date;
  command: string;
  runtime: string;
  /** 1-minute load average when the benchmark started and ended. */
  loadBefore: number;
  loadAfter: number;
}

export const ACK_TARGET_MS = 100;
export const DELAY_TARGET_MS = 2000;
export const RSS_TARGET_MB = 300;

export function machineLine(meta: RunMeta): string {
  const cpus = os.cpus();
  const load = `1-minute load average ${meta.loadBefore.toFixed(1)} at the start and ${meta.loadAfter.toFixed(1)} at the end`;
  return (
    `Measured ${meta.date.toISOString().slice(0, 16).replace('T', ' ')} UTC with \`${meta.command}\` on ${cpus.length} CPU cores ` +
    `(${cpus[0]?.model.trim() ?? 'unknown CPU'}) shared with other developers (${load}), Node ${process.version}, ` +
    `bot running ${meta.runtime === 'compiled' ? 'JavaScript compiled by tsc' : 'TypeScript through tsx'}.`
  );
}

export function renderAck(result: AckResult, meta: RunMeta): string {
  const rows = result.variants.map((variant) => [
    `\`${variant.label}\`, ${variant.rounds.length} bursts of ${result.count}`,
    ...latencyCells(variant.all),
    variant.cpuMsPerCommand.toFixed(2),
  ]);
  rows.push([`bare \`node:http\` server, same client`, ...latencyCells(result.floor), '']);
  const train = result.variants[0]!;
  const verdicts = result.variants.map((variant) => {
    const p99s = variant.rounds.map((round) => round.p99.toFixed(0)).join(', ');
    const met = variant.medianP99 < ACK_TARGET_MS;
    return `- \`${variant.label}\`: p99 per burst ${p99s} ms (median ${variant.medianP99.toFixed(0)} ms): target p99 under ${ACK_TARGET_MS} ms ${met ? 'met' : '**not met**'}; Slack's 3,000 ms ${variant.all.max < 3000 ? 'met' : '**not met**'} (max ${variant.all.max.toFixed(0)} ms).`;
  });
  const failures = result.variants.reduce((sum, variant) => sum + variant.failures, 0);
  return [
    machineLine(meta),
    '',
    table(['burst', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'bot CPU ms per command'], rows),
    '',
    ...verdicts,
    `- Responses other than HTTP 200: ${failures}. \`/train\` commands stored as runs: ${result.runsCreated.stored} of ${result.runsCreated.sent}. First request to a fresh bot: ${result.firstRequestMs.toFixed(0)} ms.`,
    `- Bot CPU per \`/train\`: ${train.cpuMsPerCommand.toFixed(2)} ms, counted from the start of a burst to its last response, so it includes the work after the ack that overlapped the burst.`,
  ].join('\n');
}

export function renderDelay(result: DelayResult, meta: RunMeta): string {
  const met = result.delay.p95 < DELAY_TARGET_MS;
  return [
    machineLine(meta),
    '',
    table(
      ['runs.pollSeconds', 'steps', 'interval s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'never shown'],
      [[String(result.pollSeconds), String(result.steps), String(result.intervalSeconds), ...latencyCells(result.delay), String(result.notShown)]],
    ),
    '',
    `- Target p95 under ${DELAY_TARGET_MS} ms: ${met ? 'met' : '**not met**'} (p95 ${result.delay.p95.toFixed(0)} ms over ${result.delay.count} steps). Run status: ${result.status}.`,
  ].join('\n');
}

export function renderLoad(result: LoadResult, meta: RunMeta): string {
  const { cpu, memory, ssh, events, slack } = result;
  const oneConnection = ssh.maxOpenPerVm.every((count) => count === 1) && ssh.openedPerVm.every((count) => count === 1);
  const rows = [
    ['runs followed at the end of the window', `${result.runsFollowed} of ${result.runs}`, `${result.runs}`, result.runsFollowed === result.runs ? 'met' : '**not met**'],
    ['seconds from the first `/train` to all runs stored as running', result.launchSeconds.toFixed(1), '', ''],
    ['seconds from the first `/train` to events of all runs applied', result.followSeconds.toFixed(1), '', ''],
    ['steady window, s', result.steadySeconds.toFixed(0), '', ''],
    ['bot CPU in the steady window, % of one core', format(cpu.steadyPercentOfCore, 1), '', ''],
    ['bot CPU, highest 5 s average, % of one core', cpu.peak5sPercentOfCore.toFixed(0), '', ''],
    ['bot CPU for the whole benchmark, s', cpu.totalSeconds.toFixed(1), '', ''],
    ['resident memory, max in the steady window, MB', format(memory.steadyMaxRssMb, 0), `< ${RSS_TARGET_MB}`, verdict(memory.steadyMaxRssMb, memory.steadyMaxRssMb < RSS_TARGET_MB)],
    ['resident memory, peak (VmHWM), MB', memory.peakRssMb.toFixed(0), `< ${RSS_TARGET_MB}`, memory.peakRssMb < RSS_TARGET_MB ? 'met' : '**not met**'],
    ['SSH connections open at once, per VM', ssh.maxOpenPerVm.join(', '), '1 each', oneConnection ? 'met' : '**not met**'],
    ['SSH connections opened during the run, per VM', ssh.openedPerVm.join(', '), '1 each', oneConnection ? 'met' : '**not met**'],
    ['step events written until 10 s before the window ended / applied by the bot', `${events.written} / ${events.applied}`, '', ''],
    ['step events not applied when the bot stopped', String(events.missed), '0', events.missed === 0 ? 'met' : '**not met**'],
    ['runs with step events not applied', String(result.events.runsBehind), '0', result.events.runsBehind === 0 ? 'met' : '**not met**'],
    ['oldest step event not applied when the bot stopped, s old', format(result.events.maxBehindSeconds, 1), '', ''],
    ['chat.postMessage per channel, max in any 10 s', String(slack.maxPostsPerChannelIn10s), '~10', slack.maxPostsPerChannelIn10s <= 11 ? 'met' : '**not met**'],
    // The announcer spaces the sends to a channel 1 s apart, and a busy event loop delays some sends more than the next one.
    ['chat.postMessage per channel, shortest gap on arrival, ms', format(slack.minPostGapMs, 0), '', ''],
    ['chat.postMessage per channel, max in any 60 s', String(slack.maxPostsPerChannelIn60s), '~60', slack.maxPostsPerChannelIn60s <= 60 ? 'met' : '**not met**'],
    ['chat.update per message, max in any 60 s', String(slack.maxUpdatesPerMessageIn60s), '~50', slack.maxUpdatesPerMessageIn60s <= 50 ? 'met' : '**not met**'],
    ['chat.update overall, max in any 60 s', String(slack.maxUpdatesIn60s), '', ''],
    ['Slack calls per minute in the steady window', format(slack.steadyCallsPerMinute, 0), '', ''],
    ['bot log lines at warn / error (`.trainops/bench-load-bot.log`)', `${result.logs.warn} / ${result.logs.error}`, '', ''],
  ];
  return [
    machineLine(meta),
    '',
    `${result.runs} runs over ${result.vms} sshd VMs (OpenSSH, MaxSessions 10) and ${result.channels} channels, each writing a step event a second; a steady window of ${result.seconds} s.`,
    '',
    table(['measure', 'value', 'target', 'result'], rows),
  ].join('\n');
}

/** Formats a measurement, or `n/a` when the window it needs was empty. */
function format(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function verdict(value: number, met: boolean): string {
  if (!Number.isFinite(value)) return 'not measured';
  return met ? 'met' : '**not met**';
}

function latencyCells(summary: LatencySummary): string[] {
  return [summary.p50, summary.p95, summary.p99, summary.max].map((value) => value.toFixed(0));
}

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Replaces the text between `<!-- bench:NAME:begin -->` and its end marker, or appends a new section with them. */
export async function writeDocsSection(docsPath: string, name: string, title: string, body: string): Promise<void> {
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const text = await readFile(docsPath, 'utf8');
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  const updated =
    start >= 0 && stop > start
      ? `${text.slice(0, start + begin.length)}\n${body}\n${text.slice(stop)}`
      : `${text.trimEnd()}\n\n### ${title}\n\n${begin}\n${body}\n${end}\n`;
  await writeFile(docsPath, updated);
}
