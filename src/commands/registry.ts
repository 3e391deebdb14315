import type { CommandContext, ParseContext, Reply } from './context.js';
import type { HandlerDeps } from './deps.js';
import type { ParseError } from './parse-error.js';

/**
 * A command a person can type: `/name ...`, `@bot name ...`, or `name ...` as a reply
 * in a run's thread. A feature adds one file exporting `defineCommand({...})` and one
 * line in `src/commands/index.ts`.
 *
 *   export const runsCommand = defineCommand({
 *     name: 'runs',
 *     aliases: ['运行'],
 *     helpKey: 'core.help.runs',
 *     parse: (text, ctx) => parseRuns(text, ctx),      // pure: typed command or ParseError
 *     handle: async (command, ctx, deps) => { ... },  // acts through deps' ports
 *   });
 */
export interface CommandSpec<C = unknown> {
  /** Slash command name without `/`, lowercase ASCII. */
  readonly name: string;
  /** Other words that select it after `@bot` or in a thread (`训练`, `取消`). */
  readonly aliases?: readonly string[];
  /** Catalog key of the help text: usage line and examples, in both locales. */
  readonly helpKey: string;
  /** Turns the text after the command name into a typed command or a ParseError; must not throw. */
  parse(text: string, ctx: ParseContext): C | ParseError;
  handle(command: C, ctx: CommandContext, deps: HandlerDeps): Promise<void>;
}

/** Identity function that keeps the command type `C` flowing from `parse` to `handle`. */
export function defineCommand<C>(spec: CommandSpec<C>): CommandSpec<C> {
  return spec;
}

/** A button click, already acknowledged, as passed to its action handler. */
export interface ActionRequest {
  readonly actionId: string;
  /** The button's `value`. */
  readonly value: string;
  readonly userId: string;
  readonly channel: string;
  /** The message that contains the button. */
  readonly messageTs?: string;
  readonly threadTs?: string;
  respond(reply: Reply | string): Promise<void>;
}

/**
 * A Block Kit button handler (`action_id`). Features whose buttons do more than run a
 * command (the on-call acknowledge button) register one in `src/commands/index.ts`.
 * The run buttons (cancel, restart, logs) need none: they run `/cancel #id` and so on.
 */
export interface ActionSpec {
  readonly actionId: string;
  handle(action: ActionRequest, deps: HandlerDeps): Promise<void>;
}

export class DuplicateCommandError extends Error {
  constructor(readonly word: string) {
    super(`command name or alias "${word}" is registered twice`);
    this.name = 'DuplicateCommandError';
  }
}

export class CommandRegistry {
  private readonly byWord = new Map<string, CommandSpec>();
  private readonly ordered: CommandSpec[] = [];
  private readonly actions = new Map<string, ActionSpec>();

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command has its own type
  constructor(specs: readonly CommandSpec<any>[] = [], actions: readonly ActionSpec[] = []) {
    for (const spec of specs) this.register(spec);
    for (const action of actions) this.registerAction(action);
  }

  registerAction(action: ActionSpec): void {
    if (this.actions.has(action.actionId)) throw new DuplicateCommandError(action.actionId);
    this.actions.set(action.actionId, action);
  }

  findAction(actionId: string): ActionSpec | undefined {
    return this.actions.get(actionId);
  }

  actionIds(): string[] {
    return [...this.actions.keys()];
  }

  register<C>(spec: CommandSpec<C>): void {
    const words = [spec.name, ...(spec.aliases ?? [])].map((word) => word.toLowerCase());
    for (const word of words) {
      if (this.byWord.has(word)) throw new DuplicateCommandError(word);
    }
    for (const word of words) this.byWord.set(word, spec as CommandSpec);
    this.ordered.push(spec as CommandSpec);
  }

  /** Looks up the command selected by `word` (`train`, `/train`, `训练`). */
  find(word: string): CommandSpec | undefined {
    return this.byWord.get(word.replace(/^[/／]/, '').toLowerCase());
  }

  /** Commands in registration order. */
  list(): readonly CommandSpec[] {
    return this.ordered;
  }

  /** Lists every name and alias, for suggestions. */
  words(): string[] {
    return [...this.byWord.keys()];
  }
}
