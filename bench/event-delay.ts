/**
 * Delay from a step event appended to events.jsonl on the VM to the first Slack call
 * that shows that step: the run's thread root (chat.update, whose step field reads
 * `12 / 30`) or a progress reply (chat.postMessage keyed `run:<id>:progress:a1:s12`).
 *
 * One run on one sshd VM, followed by a `trainops all` process with the default
 * settings (events read every `runs.pollSeconds`, 2 s by default, and root updates at
 * most every 1.2 s per message). The stand-in trainer appends a step every `intervalSeconds`,
 * longer than both, so no step waits on a coalescing window left by the one before.
 * The append time is the event's own `time` field, written just before the line is
 * flushed. The fake Slack stamps each call when its body has arrived.
 */

import { translate } from '../src/bot/i18n.js';
import type { FakeSlackCall } from '../test/support/fake-slack.js';
import { SIGNING_SECRET, botLogPath, startBotProcess, writeConfig, type BotSettings } from './bot-process.js';
import { benchConfig, MEMBER, readRunEvents, startRig, waitForRuns } from './rig.js';
import { postSigned, signSlashCommand } from './slash-command.js';
import { summarize, type LatencySummary } from './stats.js';

export interface DelayOptions extends BotSettings {
  steps: number;
  intervalSeconds: number;
  /** `runs.pollSeconds` of the bot: how often it reads events.jsonl. */
  pollSeconds: number;
}

export interface DelayResult {
  steps: number;
  intervalSeconds: number;
  pollSeconds: number;
  /** Delays of the steps that some Slack call showed, in ms. */
  delay: LatencySummary;
  /** Steps written but never shown by their own value (a later value replaced them first). */
  notShown: number;
  /** Final status of the run. */
  status: string;
}

const CHANNEL = 'C0BENCHDLY';
const LOCALE = 'zh-CN';

export async function benchEventDelay(options: DelayOptions): Promise<DelayResult> {
  const rig = await startRig({ vms: 1 });
  try {
    const config = {
      ...benchConfig(rig, { recipe: 'bench-delay', hyperparameters: { max_steps: options.steps, step_delay_seconds: options.intervalSeconds }, channel: CHANNEL }),
      runs: { pollSeconds: options.pollSeconds },
    };
    const configPath = await writeConfig(rig.dir, config);
    const bot = await startBotProcess({ runtime: options.runtime, cpuProfileDir: options.cpuProfileDir, role: 'all', configPath, redisUrl: rig.redis.url, slackApiUrl: rig.slack.url, logPath: botLogPath('delay') });
    try {
      const responseBase = rig.slack.url.replace(/\/api\/$/, '');
      const request = signSlashCommand({ command: '/train', text: 'bench-delay on vm1', userId: MEMBER, channelId: CHANNEL, triggerId: 'delay.1', responseBase }, SIGNING_SECRET, new Date());
      const response = await postSigned(`http://127.0.0.1:${rig.httpPort}/slack/commands`, request);
      if (response.status !== 200) throw new Error(`/train failed with HTTP ${response.status}; see the bot log`);

      const timeoutMs = (options.steps * options.intervalSeconds + 120) * 1000;
      const { runs } = await waitForRuns(rig, 1, ([run]) => run !== undefined && ['succeeded', 'failed', 'cancelled', 'lost'].includes(run.status), timeoutMs);
      const run = runs[0];
      if (!run) throw new Error('the bot stored no run for /train');
      // Let the last root update through its coalescing window.
      await new Promise((resolve) => setTimeout(resolve, 3000));

      const { events } = await readRunEvents(rig.sshds[0]!, run.id);
      const steps = events.filter((event) => event.type === 'step' && typeof event.step === 'number');
      const delays: number[] = [];
      let notShown = 0;
      for (const event of steps) {
        const appendedAt = Date.parse(event.time);
        const shownAt = firstCallShowing(rig.slack.calls, run.id, event.step!, options.steps, appendedAt);
        if (shownAt === undefined) notShown += 1;
        else delays.push(shownAt - appendedAt);
      }
      return { steps: steps.length, intervalSeconds: options.intervalSeconds, pollSeconds: options.pollSeconds, delay: summarize(delays), notShown, status: run.status };
    } finally {
      await bot.stop();
    }
  } finally {
    await rig.stop();
  }
}

/** Returns when the fake Slack first received a call at or after `after` that shows `step`. */
function firstCallShowing(calls: readonly FakeSlackCall[], runId: string, step: number, maxSteps: number, after: number): number | undefined {
  const rootField = translate(LOCALE, 'runs.root.step', { step, maxSteps });
  const progressKey = `run:${runId}:progress:a1:s${step}`;
  for (const call of calls) {
    if (call.time < after || call.status !== 200) continue;
    if (call.method === 'chat.update' && textsOf(call.body.blocks).includes(rootField)) return call.time;
    if (call.method === 'chat.postMessage' && (call.body.metadata as { event_payload?: { key?: string } } | undefined)?.event_payload?.key === progressKey) {
      return call.time;
    }
  }
  return undefined;
}

/** Collects every `text` string in a Block Kit tree. */
function textsOf(node: unknown): string[] {
  if (typeof node !== 'object' || node === null) return [];
  if (Array.isArray(node)) return node.flatMap(textsOf);
  const texts: string[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === 'text' && typeof value === 'string') texts.push(value);
    else texts.push(...textsOf(value));
  }
  return texts;
}
