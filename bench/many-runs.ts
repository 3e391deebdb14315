/**
 * One `trainops all` process following many concurrent runs spread over several sshd
 * VMs. Each run is a stand-in trainer that appends one step event a second. The runs
 * start with signed `/train` commands, round-robin over the VMs and channels.
 *
 * It measures the bot's CPU time and resident memory (from /proc) and its SSH
 * connections per VM (`ss`). It compares the events written on the VMs with the events
 * the bot applied (the stored byte offset of each run), and counts the rate of Slack
 * calls that the fake Slack received.
 * The steady window starts once the bot has applied events of every run, which leaves
 * out the launch burst, and lasts `seconds`. Then the bot is stopped while the runs
 * still write, and the sshd servers kill the runs as they stop.
 */

import { isFinalStatus } from '../src/jobs/run-state.js';
import type { RunRecord } from '../src/jobs/run-types.js';
import type { FakeSlackCall } from '../test/support/fake-slack.js';
import { SIGNING_SECRET, botLogPath, startBotProcess, writeConfig, type BotProcess, type ProcessUsage, type BotSettings } from './bot-process.js';
import { benchConfig, MEMBER, readRunEvents, startRig, waitForRuns, type Rig } from './rig.js';
import { postSigned, signSlashCommand } from './slash-command.js';
import { connectionsOf } from './ssh-connections.js';
import { groupBy, maxInWindow } from './stats.js';

export interface LoadOptions extends BotSettings {
  runs: number;
  vms: number;
  /** Length of the steady window in seconds. */
  seconds: number;
  channels: number;
}

export interface LoadResult extends LoadOptions {
  /** Seconds from the first /train to every run stored as running. */
  launchSeconds: number;
  /** Seconds from the first /train to the bot having applied events of every run. */
  followSeconds: number;
  steadySeconds: number;
  /** Runs whose events the bot was applying when the window ended. */
  runsFollowed: number;
  cpu: { steadyPercentOfCore: number; peak5sPercentOfCore: number; totalSeconds: number };
  memory: { steadyMaxRssMb: number; peakRssMb: number };
  ssh: { maxOpenPerVm: number[]; openedPerVm: number[] };
  /**
   * Step events written up to 10 s before the window ended, and how many of them the bot
   * had applied when it stopped. `maxBehindSeconds` is, over all runs, the age at the end
   * of the window of the oldest step event the bot had not applied.
   */
  events: { written: number; applied: number; missed: number; runsBehind: number; maxBehindSeconds: number };
  slack: {
    maxPostsPerChannelIn10s: number;
    /** Shortest time between two chat.postMessage calls to one channel. */
    minPostGapMs: number;
    maxPostsPerChannelIn60s: number;
    maxUpdatesPerMessageIn60s: number;
    maxUpdatesIn60s: number;
    steadyCallsPerMinute: number;
    totalCalls: number;
  };
  logs: { warn: number; error: number };
}

interface UsageSample extends ProcessUsage {
  at: number;
}

export async function benchManyRuns(options: LoadOptions): Promise<LoadResult> {
  const rig = await startRig({ vms: options.vms });
  try {
    // The runs outlast the benchmark: the window ends while they still write.
    const config = benchConfig(rig, { recipe: 'bench-load', hyperparameters: { max_steps: 3600, step_delay_seconds: 1 }, channel: 'C0BENCH000' });
    const configPath = await writeConfig(rig.dir, config);
    const bot = await startBotProcess({ runtime: options.runtime, cpuProfileDir: options.cpuProfileDir, role: 'all', configPath, redisUrl: rig.redis.url, slackApiUrl: rig.slack.url, logPath: botLogPath('load') });
    const sampler = startSampler(bot, rig.sshds.map((sshd) => sshd.port));
    try {
      const startedAt = Date.now();
      await startRuns(rig, options);

      const running = await waitForRuns(rig, options.runs, (runs) => runs.every((run) => run.status === 'running' || isFinalStatus(run.status)), 300_000);
      const launchedAt = Date.now();
      if (!running.met) console.warn(`only ${running.runs.filter((run) => run.status === 'running').length} of ${options.runs} runs were running after 300 s`);
      const followed = await waitForRuns(rig, options.runs, (runs) => runs.every((run) => run.eventOffset > 0 || isFinalStatus(run.status)), 300_000);
      const allRunningAt = Date.now();
      if (!followed.met) console.warn(`the bot had not applied events of every run 300 s after all were running`);

      await sleep(options.seconds * 1000);
      const windowEnd = Date.now();
      const samples = await sampler.stop();
      await bot.stop();

      const runs = await rig.store.listRecent(options.runs);
      const events = await compareEvents(rig, runs, windowEnd);
      return {
        ...options,
        launchSeconds: (launchedAt - startedAt) / 1000,
        followSeconds: (allRunningAt - startedAt) / 1000,
        steadySeconds: (windowEnd - allRunningAt) / 1000,
        runsFollowed: runs.filter((run) => run.eventOffset > 0).length,
        cpu: cpuOf(samples.usage, allRunningAt, windowEnd),
        memory: {
          steadyMaxRssMb: mb(maxOrNaN(samples.usage.filter((sample) => sample.at >= allRunningAt && sample.at <= windowEnd).map((sample) => sample.rssBytes))),
          peakRssMb: mb(samples.usage.at(-1)?.peakRssBytes ?? Number.NaN),
        },
        ssh: {
          maxOpenPerVm: rig.sshds.map((sshd) => samples.maxOpen.get(sshd.port) ?? 0),
          openedPerVm: rig.sshds.map((sshd) => samples.seen.get(sshd.port)?.size ?? 0),
        },
        events: { ...events, missed: events.written - events.applied },
        slack: slackRates(rig.slack.calls, allRunningAt, windowEnd),
        logs: bot.logLevels(),
      };
    } finally {
      await sampler.stop();
      await bot.stop();
    }
  } finally {
    await rig.stop();
  }
}

async function startRuns(rig: Rig, options: LoadOptions): Promise<void> {
  const endpoint = `http://127.0.0.1:${rig.httpPort}/slack/commands`;
  const responseBase = rig.slack.url.replace(/\/api\/$/, '');
  const results = await Promise.all(
    Array.from({ length: options.runs }, (_, index) => {
      const vm = `vm${(index % options.vms) + 1}`;
      const channelId = `C0BENCH${String(index % options.channels).padStart(3, '0')}`;
      const request = signSlashCommand({ command: '/train', text: `bench-load on ${vm}`, userId: MEMBER, channelId, triggerId: `load.${index + 1}`, responseBase }, SIGNING_SECRET, new Date());
      return postSigned(endpoint, request);
    }),
  );
  const rejected = results.filter((result) => result.status !== 200).length;
  if (rejected > 0) throw new Error(`${rejected} of ${options.runs} /train commands were not acked with HTTP 200`);
}

/** Samples the bot's CPU and memory every second and its SSH connections every 5 s, until stopped. */
function startSampler(bot: BotProcess, sshPorts: number[]) {
  const usage: UsageSample[] = [];
  const maxOpen = new Map<number, number>();
  const seen = new Map<number, Set<string>>();
  let stopped = false;

  const loop = (async () => {
    for (let tick = 0; !stopped; tick += 1) {
      usage.push({ at: Date.now(), ...(await bot.usage()) });
      if (tick % 5 === 0) {
        const connections = await connectionsOf(bot.pid, sshPorts);
        for (const [port, group] of groupBy(connections, (connection) => String(connection.peerPort))) {
          maxOpen.set(Number(port), Math.max(maxOpen.get(Number(port)) ?? 0, group.length));
          const locals = seen.get(Number(port)) ?? new Set<string>();
          for (const connection of group) locals.add(connection.local);
          seen.set(Number(port), locals);
        }
      }
      await sleep(1000);
    }
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
      return { usage, maxOpen, seen };
    },
  };
}

/**
 * Counts the step events written on each VM up to 10 s before `windowEnd` (epoch ms),
 * and those of them within the byte offset the bot stored. Prints each run whose
 * oldest step event not applied is older than that, for the bot log to explain.
 */
async function compareEvents(rig: Rig, runs: RunRecord[], windowEnd: number) {
  const writtenBefore = windowEnd - 10_000;
  let written = 0;
  let applied = 0;
  let runsBehind = 0;
  let maxBehindMs = 0;
  for (const run of runs) {
    const sshd = rig.sshds[Number(run.vm.replace('vm', '')) - 1]!;
    const file = await readRunEvents(sshd, run.id);
    let bytes = 0;
    let missed = 0;
    let oldestMissed: string | undefined;
    file.lines.forEach((line, index) => {
      const event = file.events[index]!;
      bytes += Buffer.byteLength(line) + 1;
      if (event.type !== 'step') return;
      if (bytes > run.eventOffset) oldestMissed ??= event.time;
      if (Date.parse(event.time) > writtenBefore) return;
      written += 1;
      if (bytes <= run.eventOffset) applied += 1;
      else missed += 1;
    });
    const behindMs = oldestMissed === undefined ? 0 : windowEnd - Date.parse(oldestMissed);
    maxBehindMs = Math.max(maxBehindMs, behindMs);
    if (missed > 0) {
      runsBehind += 1;
      console.log(`run #${run.id} on ${run.vm} in ${run.channel}: ${missed} step events not applied, ${(behindMs / 1000).toFixed(1)} s behind, status ${run.status}, ${run.outbox?.length ?? 0} replies queued`);
    }
  }
  return { written, applied, runsBehind, maxBehindSeconds: maxBehindMs / 1000 };
}

function cpuOf(samples: UsageSample[], from: number, to: number): LoadResult['cpu'] {
  const inWindow = samples.filter((sample) => sample.at >= from && sample.at <= to);
  const first = inWindow[0];
  const last = inWindow.at(-1);
  const steady = first && last && last.at > first.at ? ((last.cpuMs - first.cpuMs) / (last.at - first.at)) * 100 : Number.NaN;
  let peak = 0;
  for (let index = 5; index < samples.length; index += 1) {
    const [start, end] = [samples[index - 5]!, samples[index]!];
    peak = Math.max(peak, ((end.cpuMs - start.cpuMs) / (end.at - start.at)) * 100);
  }
  return { steadyPercentOfCore: steady, peak5sPercentOfCore: peak, totalSeconds: (samples.at(-1)?.cpuMs ?? 0) / 1000 };
}

function slackRates(calls: readonly FakeSlackCall[], from: number, to: number): LoadResult['slack'] {
  const posts = calls.filter((call) => call.method === 'chat.postMessage');
  const updates = calls.filter((call) => call.method === 'chat.update');
  const postsByChannel = [...groupBy(posts, (call) => String(call.body.channel)).values()].map((group) => group.map((call) => call.time));
  const updatesByMessage = [...groupBy(updates, (call) => `${String(call.body.channel)}:${String(call.body.ts)}`).values()].map((group) => group.map((call) => call.time));
  let minPostGapMs = Number.POSITIVE_INFINITY;
  for (const group of groupBy(posts, (call) => String(call.body.channel)).values()) {
    for (let index = 1; index < group.length; index += 1) {
      const gap = group[index]!.time - group[index - 1]!.time;
      if (gap < minPostGapMs) minPostGapMs = gap;
      if (gap < 900) console.log(`chat.postMessage calls ${gap} ms apart in ${String(group[index]!.body.channel)}: ${describeCall(group[index - 1]!)}, then ${describeCall(group[index]!)}`);
    }
  }
  const steadyCalls = calls.filter((call) => call.time >= from && call.time <= to).length;
  return {
    maxPostsPerChannelIn10s: Math.max(0, ...postsByChannel.map((times) => maxInWindow(times, 10_000))),
    minPostGapMs,
    maxPostsPerChannelIn60s: Math.max(0, ...postsByChannel.map((times) => maxInWindow(times, 60_000))),
    maxUpdatesPerMessageIn60s: Math.max(0, ...updatesByMessage.map((times) => maxInWindow(times, 60_000))),
    maxUpdatesIn60s: maxInWindow(updates.map((call) => call.time), 60_000),
    steadyCallsPerMinute: to > from ? (steadyCalls / (to - from)) * 60_000 : Number.NaN,
    totalCalls: calls.length,
  };
}

function describeCall(call: FakeSlackCall): string {
  const key = (call.body.metadata as { event_payload?: { key?: string } } | undefined)?.event_payload?.key;
  return key ?? `unkeyed "${String(call.body.text).slice(0, 60)}"`;
}

function maxOrNaN(values: number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}

function mb(bytes: number): number {
  return bytes / (1024 * 1024);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
