import { cancelCommand } from './cancel-command.js';
import { helpCommand } from './help-command.js';
import { logsCommand } from './logs-command.js';
import { CommandRegistry, type CommandSpec } from './registry.js';
import { runsCommand } from './runs-command.js';
import { statusCommand } from './status-command.js';
import { trainCommand } from './train-command.js';

/**
 * Every command the bot understands. A feature adds its `defineCommand` export here,
 * one import and one list entry; `/help` lists them in this order.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry has its own command type
export const allCommands: readonly CommandSpec<any>[] = [
  trainCommand,
  runsCommand,
  statusCommand,
  logsCommand,
  cancelCommand,
  helpCommand,
];

export function createCommandRegistry(): CommandRegistry {
  return new CommandRegistry(allCommands);
}
