import readline from 'node:readline';

import type { Reply } from '../commands/context.js';
import type { HandlerDeps } from '../commands/deps.js';
import { dispatchCommand } from '../commands/dispatch.js';
import { isFinalStatus } from '../jobs/run-state.js';
import type { RunRecord } from '../jobs/run-types.js';
import type { ConsoleChat } from './console-chat.js';

/**
 * The console's chat loop. Each input line is a command as typed in Slack
 * (`/train demo on local`, `train demo`), or a reply in a run's thread written as
 * `#42 logs 20`. In a terminal it prompts until Ctrl+D; with stdin from a pipe it runs
 * every line, then waits until the runs it started have ended and resolves with exit
 * code 0 when all succeeded, 1 otherwise.
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
}

const THREAD_REPLY = /^#(\d{1,12})\s+([\s\S]+)$/;

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

  for await (const rawLine of lines) {
    const line = rawLine.trim();
    if (line.length > 0 && !line.startsWith('//')) {
      if (!interactive) chat.note(`> ${line}`);
      await handleLine(line, deps, chat, channel, userId);
    }
    if (interactive) lines.prompt();
  }

  if (interactive || started.length === 0) return 0;
  return waitForRuns(started, deps, chat, options.pollMs ?? 500);
}

async function handleLine(line: string, deps: HandlerDeps, chat: ConsoleChat, channel: string, userId: string): Promise<void> {
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

  const threadReply = THREAD_REPLY.exec(line);
  if (threadReply) {
    const run = await deps.runStore.get(threadReply[1]!);
    if (run?.threadTs) {
      const respond = responder(run.threadTs);
      await dispatchCommand({ text: threadReply[2]!, userId, channel: run.channel, threadTs: run.threadTs, source: 'thread', respond }, deps);
      return;
    }
    await responder()(deps.translate(deps.config.locale)('core.error.run_not_found', { id: threadReply[1] }));
    return;
  }

  await dispatchCommand({ text: line, userId, channel, source: 'console', respond: responder() }, deps);
}

async function waitForRuns(ids: readonly string[], deps: HandlerDeps, chat: ConsoleChat, pollMs: number): Promise<number> {
  const t = deps.translate(deps.config.locale);
  chat.note(t('console.waiting', { count: ids.length }));

  for (;;) {
    const runs = await Promise.all(ids.map((id) => deps.runStore.get(id)));
    const ended = runs.filter((run): run is RunRecord => run !== undefined && isFinalStatus(run.status));
    if (ended.length === ids.length) {
      chat.note(t('console.done'));
      return ended.every((run) => run.status === 'succeeded') ? 0 : 1;
    }
    await deps.clock.sleep(pollMs);
  }
}
