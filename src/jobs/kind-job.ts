/**
 * The frame of the deploy, data set check and comm bench processors: recipe and VM
 * lookup, and the error handling they share. Also the launch-and-wait path of the two
 * that run one trainer command to its end (data set check and comm bench).
 */
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';

import type { FailureClass, Recipe, VmConfig } from '../config/schema.js';
import type { Host } from '../remote/host.js';
import { launchRun } from '../remote/launcher.js';
import {
  endIfCancelledBeforeLaunch,
  failRun,
  finishRun,
  loseRun,
  markLaunched,
  prepareHost,
  readLogTail,
  repostFinalOutcome,
  returnJobToQueue,
  settleAfterJobError,
  stopIfCancelledDuringLaunch,
  syncTrainerCode,
  waitForExit,
  WorkerClosingError,
  type KindJobContext,
} from './deploy-steps.js';
import { runDirOf } from './run-dir.js';
import { isFinalStatus } from './run-state.js';
import type { RunWorkerDeps } from './run-worker.js';
import type { RunRecord } from './run-types.js';

/**
 * Input that no retry can fix, such as an unknown recipe or VM. The run fails as
 * `config_error` with this message, and the job is not retried.
 */
export class RunInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunInputError';
  }
}

type RecipeOfKind<Kind extends Recipe['kind']> = Extract<Recipe, { kind: Kind }>;

export interface KindRunOptions<Kind extends Recipe['kind']> {
  kind: Kind;
  /** Returns the recipe of that name. Default: the configured recipe when it is of this kind. */
  recipeOf?(name: string): RecipeOfKind<Kind> | undefined;
  process(recipe: RecipeOfKind<Kind>, vm: VmConfig): Promise<void>;
}

/**
 * Runs `options.process` with the run's recipe and VM, handling what every kind shares.
 * A run already in a final status (a job delivered again) only gets its outcome posted.
 * A RunInputError fails the run as `config_error` without retries. A closing worker
 * hands the job back to the queue. Any other error settles the run on the job's last
 * attempt and is rethrown, so BullMQ retries earlier attempts.
 */
export async function processKindRun<Kind extends Recipe['kind']>(
  deps: RunWorkerDeps,
  initial: RunRecord,
  context: KindJobContext,
  options: KindRunOptions<Kind>,
): Promise<void> {
  if (isFinalStatus(initial.status)) return repostFinalOutcome(deps, initial);

  try {
    const recipe = options.recipeOf ? options.recipeOf(initial.recipe) : configuredRecipe(deps, initial.recipe, options.kind);
    if (!recipe) throw new RunInputError(`"${initial.recipe}" is not a ${options.kind} recipe`);
    const vm = deps.config.vms[initial.vm];
    if (!vm) throw new RunInputError(`unknown VM "${initial.vm}"`);
    await options.process(recipe, vm);
  } catch (error) {
    if (error instanceof WorkerClosingError) return returnJobToQueue(context);
    if (error instanceof RunInputError) {
      await finishRun(deps, initial, 'failed', { failureClass: 'config_error', failureMessage: error.message }, context.logger);
      throw new UnrecoverableError(`run #${initial.id}: ${error.message}`);
    }
    await settleAfterJobError(deps, initial.id, context, error);
    throw error;
  }
}

/**
 * Starts the VM when needed and returns the run with its host. Returns undefined when
 * the run was cancelled before its launch, after storing it as cancelled.
 */
export async function prepareHostUnlessCancelled(deps: RunWorkerDeps, initial: RunRecord, logger: Logger): Promise<{ run: RunRecord; host: Host } | undefined> {
  const prepared = await prepareHost(deps, initial, logger);
  if (await endIfCancelledBeforeLaunch(deps, prepared.run, logger)) return undefined;
  return prepared;
}

function configuredRecipe<Kind extends Recipe['kind']>(deps: RunWorkerDeps, name: string, kind: Kind): RecipeOfKind<Kind> | undefined {
  const recipe = deps.config.recipes[name];
  return recipe?.kind === kind ? (recipe as RecipeOfKind<Kind>) : undefined;
}

/** A command that exited while its run went on: the run as stored after the exit, and a fresh host. */
export interface CommandExit {
  run: RunRecord;
  host: Host;
  runDir: string;
  exitCode: number | null;
}

export interface CommandToExitOptions {
  /** Name of the command in log lines, such as `data check`. */
  label: string;
  /** Returns the argv to launch in the run directory. */
  buildCommand(host: Host, runDir: string): Promise<string[]>;
}

/**
 * Starts the VM when needed, ships the trainer code, launches the command in the run
 * directory (or re-attaches to it) and waits for it to exit. Returns undefined when the
 * run has ended on the way: cancelled before or during the command, or lost because its
 * host stayed unreachable.
 */
export async function runCommandToExit(
  deps: RunWorkerDeps,
  initial: RunRecord,
  vm: VmConfig,
  context: KindJobContext,
  options: CommandToExitOptions,
): Promise<CommandExit | undefined> {
  const { logger } = context;
  const prepared = await prepareHostUnlessCancelled(deps, initial, logger);
  if (!prepared) return undefined;
  let { run, host } = prepared;
  run = await syncTrainerCode(deps, run, host, vm, logger);

  const runDir = runDirOf(vm, run.id);
  const command = await options.buildCommand(host, runDir);
  // The code sync may take a while: a cancel that arrived meanwhile launches nothing.
  if (await endIfCancelledBeforeLaunch(deps, run, logger)) return undefined;
  const launch = await launchRun(host, { runDir, codeDir: run.codeDir, python: vm.python, command, attempt: run.attempt });
  logger.info({ attached: launch.attached, pid: launch.pid }, launch.attached ? `attached to the ${options.label}` : `${options.label} launched`);
  run = await markLaunched(deps, run);
  await stopIfCancelledDuringLaunch(host, runDir, run, logger);

  const wait = await waitForExit(deps, run, runDir, deps.pollMs ?? deps.config.runs.pollSeconds * 1000, context.signal);
  if (!wait.exited) {
    await loseRun(deps, await deps.store.require(run.id), logger);
    return undefined;
  }
  const exitCode = wait.state.exitCode;
  host = await deps.hosts.get(run.vm);
  run = await deps.store.require(run.id);
  if (run.cancelRequestedBy) {
    await finishRun(deps, run, 'cancelled', { exitCode: exitCode ?? undefined }, logger);
    return undefined;
  }
  return { run, host, runDir, exitCode };
}

/**
 * Fails the run with the message `messageKey` names, filled with the exit code (`code`)
 * and the last lines of the run's log (`tail`).
 */
export async function failWithLogTail(
  deps: RunWorkerDeps,
  exit: CommandExit,
  messageKey: string,
  logger: Logger,
  failureClass: FailureClass = 'unknown',
): Promise<RunRecord> {
  const tail = await readLogTail(exit.host, exit.runDir);
  const message = deps.thread.translate(messageKey, { code: exit.exitCode ?? '—', tail: tail || '—' });
  return failRun(deps, exit.run, { failureClass, failureMessage: message, exitCode: exit.exitCode ?? undefined }, logger);
}
