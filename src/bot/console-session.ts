import { randomBytes } from 'node:crypto';
import readline from 'node:readline';

import type { Reply } from '../commands/context.js';
import type { HandlerDeps } from '../commands/deps.js';
import { dispatchCommand, type DispatchOutcome } from '../commands/dispatch.js';
import { RUN_ACTIONS } from '../jobs/run-reporter.js';
import { isFinalStatus } from '../jobs/run-state.js';
import type { RunRecord } from '../jobs/run-types.js';
import type { ConsoleButton, ConsoleChat } from './console-chat.js';
import { formatPipedSummary, type PipedTally } from './console-summary.js';

/**
 * The console's chat loop. Each input line is a command as typed in Slack
 * (`/train demo on local`, `@TrainOps runs`, `train demo`), or a reply in a run's
 * thread written as `#42 logs 20`. A line that is exactly `/plan import` takes the
 * following lines, up to a line with only `.`, as the pasted weekly message, and a line
 * such as `[保存计划]` clicks the most recently printed button with that label. In a
 * terminal it prompts until Ctrl+D. With stdin from a pipe it runs every line, then
 * waits until the runs it started have ended and resolves with exit code 0 when every command was accepted, every piped `/train`
 * started a run and every run succeeded. Otherwise it writes a one-line summary of the
 * rejected commands and of the runs that failed, were cancelled or were lost to `errors`
 * and resolves with 1.
 */
export interface ConsoleSessionOptions {
  deps: HandlerDeps;
  chat: ConsoleChat;
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream;
  /** Slack user the console speaks as (a team member). */
  userId: string;
  /** Milliseconds between checks of the started runs' status. */
  pollMs?: number;
  /** Stream for the one-line summary of a piped session that exits 1 (default stderr). */
  errors?: NodeJS.WritableStream;
  /**
   * Resolves once the workers have posted everything about the ended runs (the final
   * message, the loss chart), so the closing line prints after them.
   */
  settle?: () => Promise<void>;
}

/**
 * Line that ends a multi-line command. An empty line does not, because the team's
 * weekly message has blank lines between its sections.
 */
const MULTI_LINE_END = '.';
/** A button label typed in square brackets (`[保存计划]`), which clicks the most recently printed button with that label. */
const BUTTON_CLICK = /^\[([^\[\]]+)\]$/;
/** Commands the run buttons stand for, as in the Slack app. */
const RUN_BUTTON_COMMANDS: Readonly<Record<string, string>> = {
  [RUN_ACTIONS.cancel]: 'cancel',
  [RUN_ACTIONS.restart]: 'restart',
  [RUN_ACTIONS.logs]: 'logs',
};
const THREAD_REPLY = /^#(\d{1,12})\s+([\s\S]+)$/;
/** `@TrainOps runs`: in Slack the mention arrives as `<@U…>`, in the console it is typed as a name. */
const BOT_MENTION = /^[@＠](?:TrainOps|训练助手)(?![\p{L}\p{N}_-])[\s:：,，]*/iu;

export async function runConsoleSession(options: ConsoleSessionOptions): Promise<number> {
  const { chat, userId } = options;
  const channel = options.deps.config.slack.channel;
  const t = options.deps.translate(options.deps.config.locale);
  const interactive = options.input.isTTY === true;
  const started: string[] = [];

  // Records the runs this session queued, which a piped session waits for.
  const deps: HandlerDeps = {
    ...options.deps,
    enqueue: async (request) => {
      const run = await options.deps.enqueue(request);
      started.push(run.id);
      return run;
    },
  };

  const name = deps.config.team.members.find((member) => member.id === userId)?.name ?? userId;
  chat.note(t('console.banner', { channel, user: name }));

  const lines = readline.createInterface({ input: options.input, ...(interactive ? { output: options.output, prompt: '> ' } : {}), terminal: interactive });
  if (interactive) lines.prompt();

  const tally: PipedTally = { total: 0, rejected: 0, trainsWithoutRun: 0 };
  const runCommand = async (text: string): Promise<void> => {
    if (!interactive) chat.note(`> ${text.replace(/\n/g, '\n  ')}`);
    const runsBefore = started.length;
    const outcome = await handleLine(text, deps, chat, channel, userId);
    tally.total += 1;
    if (outcome === 'rejected' || outcome === 'failed') tally.rejected += 1;
    else if (isTrainLine(text, deps) && started.length === runsBefore) tally.trainsWithoutRun += 1;
  };

  // Lines of a multi-line command (`/plan import` and the pasted message) until its end line.
  let pending: string[] | undefined;
  for await (const rawLine of lines) {
    const line = rawLine.trim();
    if (pending) {
      if (line === MULTI_LINE_END) {
        await runCommand(pending.join('\n'));
        pending = undefined;
        if (interactive) lines.setPrompt('> ');
      } else {
        pending.push(rawLine.trimEnd());
      }
    } else if (line.length > 0 && !line.startsWith('//')) {
      if (startsMultiLineCommand(line, deps)) {
        pending = [line];
        if (interactive) {
          chat.note(t('console.multi_line_hint', { end: MULTI_LINE_END }));
          lines.setPrompt('… ');
        }
      } else {
        await runCommand(line);
      }
    }
    if (interactive) lines.prompt();
  }
  // Input that ends inside a multi-line command (Ctrl+D, or a pipe without the end line) still runs it.
  if (pending) await runCommand(pending.join('\n'));
  if (interactive) return 0;

  const ended = started.length > 0 ? await waitForRuns(started, deps, chat, options.pollMs ?? 500, options.settle) : [];
  const summary = formatPipedSummary(tally, ended, t);
  if (summary === undefined) return 0;
  (options.errors ?? process.stderr).write(`${summary}\n`);
  return 1;
}

/**
 * Tells whether a line is a command whose text follows on the next lines: exactly
 * `/plan import` (or `/计划 导入`), which is followed by the pasted weekly message.
 */
function startsMultiLineCommand(line: string, deps: HandlerDeps): boolean {
  const words = line.replace(BOT_MENTION, '').split(/\s+/);
  return words.length === 2 && deps.registry.find(words[0]!)?.name === 'plan' && /^(?:import|导入)$/i.test(words[1]!);
}

/** Tells whether a line asks for a training run (`/train …`, `@TrainOps 训练 …`). */
function isTrainLine(line: string, deps: HandlerDeps): boolean {
  const word = /^(\S+)/.exec(line.replace(BOT_MENTION, ''))?.[1];
  return word !== undefined && deps.registry.find(word)?.name === 'train';
}

async function handleLine(rawLine: string, deps: HandlerDeps, chat: ConsoleChat, channel: string, userId: string): Promise<DispatchOutcome> {
  const line = rawLine.replace(BOT_MENTION, '');
  const responder =
    (threadTs?: string) =>
    async (reply: Reply | string): Promise<void> => {
      const message = typeof reply === 'string' ? { text: reply } : reply;
      await chat.postEphemeral({
        channel,
        user: userId,
        text: message.text,
        ...(message.blocks ? { blocks: message.blocks } : {}),
        ...(threadTs ? { threadTs } : {}),
      });
    };

  const click = BUTTON_CLICK.exec(line);
  if (click) {
    const button = chat.findButton(click[1]!);
    if (button) return clickButton(button, deps, userId, responder(button.threadTs));
    await responder()(deps.translate(deps.config.locale)('console.button_not_found', { label: click[1] }));
    return 'rejected';
  }

  const threadReply = THREAD_REPLY.exec(line);
  if (threadReply) {
    const run = await deps.runStore.get(threadReply[1]!);
    if (run?.threadTs) {
      const respond = responder(run.threadTs);
      return dispatchCommand({ text: threadReply[2]!, userId, channel: run.channel, threadTs: run.threadTs, source: 'thread', respond }, deps);
    }
    await responder()(deps.translate(deps.config.locale)('core.error.run_not_found', { id: threadReply[1] }));
    return 'rejected';
  }

  return dispatchCommand({ text: line, userId, channel, source: 'console', respond: responder() }, deps);
}

/** Clicks a printed button: a run button runs its command, any other goes to its registered action. */
async function clickButton(button: ConsoleButton, deps: HandlerDeps, userId: string, respond: (reply: Reply | string) => Promise<void>): Promise<DispatchOutcome> {
  const commandWord = RUN_BUTTON_COMMANDS[button.actionId];
  const where = { channel: button.channel, ...(button.threadTs ? { threadTs: button.threadTs } : {}) };
  if (commandWord !== undefined) {
    return dispatchCommand({ text: `${commandWord} #${button.value}`, userId, ...where, source: 'action', respond }, deps);
  }

  const spec = deps.registry.findAction(button.actionId);
  if (!spec) {
    deps.logger.warn({ actionId: button.actionId }, 'console button without a handler');
    return 'ignored';
  }
  try {
    await spec.handle({ actionId: button.actionId, value: button.value, userId, ...where, ...(button.messageTs ? { messageTs: button.messageTs } : {}), respond }, deps);
    return 'handled';
  } catch (error) {
    const reference = randomBytes(4).toString('hex');
    deps.logger.error({ err: error, actionId: button.actionId, reference }, 'console button handler failed');
    await respond(deps.translate(deps.config.locale)('core.error.internal', { reference }));
    return 'failed';
  }
}

/** Waits until every run in `ids` has ended, then returns their final records. */
async function waitForRuns(
  ids: readonly string[],
  deps: HandlerDeps,
  chat: ConsoleChat,
  pollMs: number,
  settle: (() => Promise<void>) | undefined,
): Promise<RunRecord[]> {
  const t = deps.translate(deps.config.locale);
  chat.note(t('console.waiting', { count: ids.length }));

  for (;;) {
    const runs = await Promise.all(ids.map((id) => deps.runStore.get(id)));
    const ended = runs.filter((run): run is RunRecord => run !== undefined && isFinalStatus(run.status));
    if (ended.length === ids.length) {
      await settle?.();
      chat.note(t('console.done'));
      return ended;
    }
    await deps.clock.sleep(pollMs);
  }
}
