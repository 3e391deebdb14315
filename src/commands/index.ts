import { benchCommand } from './bench-command.js';
import { cancelCommand } from './cancel-command.js';
import { datasetCommand } from './dataset-command.js';
import { deployCommand } from './deploy-command.js';
import { helpCommand } from './help-command.js';
import { logsCommand } from './logs-command.js';
import { oncallAckAction, oncallCommand } from './oncall-command.js';
import { planCommand, planImportCancelAction, planImportConfirmAction } from './plan-command.js';
import { CommandRegistry, type ActionSpec, type CommandSpec } from './registry.js';
import { restartCommand } from './restart-command.js';
import { runsCommand } from './runs-command.js';
import { statusCommand } from './status-command.js';
import { trainCommand } from './train-command.js';
import { vmKeepRunningAction, vmStopConfirmAction } from './vm-actions.js';
import { vmCommand } from './vm-command.js';

/**
 * Every command the bot understands. A feature adds its `defineCommand` export here,
 * one import and one list entry; `/help` lists them in this order.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry has its own command type
export const allCommands: readonly CommandSpec<any>[] = [
  trainCommand,
  deployCommand,
  datasetCommand,
  benchCommand,
  runsCommand,
  statusCommand,
  logsCommand,
  cancelCommand,
  restartCommand,
  oncallCommand,
  vmCommand,
  planCommand,
  helpCommand,
];

/** Button handlers beyond the run buttons, one entry per `action_id`. */
export const allActions: readonly ActionSpec[] = [
  oncallAckAction,
  planImportConfirmAction,
  planImportCancelAction,
  vmKeepRunningAction,
  vmStopConfirmAction,
];

export function createCommandRegistry(): CommandRegistry {
  return new CommandRegistry(allCommands, allActions);
}
