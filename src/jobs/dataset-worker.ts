/**
 * The data set check processor: runs the trainer's `check-data --json` on the VM,
 * detached like any run, and posts its report in the run's thread. A report with
 * problems is a successful check. A file that cannot be read at all (not found, unknown
 * format, undetectable encoding) fails the run with the trainer's message.
 */
import { UnrecoverableError } from 'bullmq';

import type { DatasetRecipe, VmConfig } from '../config/schema.js';
import { launchRun } from '../remote/launcher.js';
import { formatDatasetReport, parseCheckDataOutput } from './dataset-report.js';
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
  syncTrainerCode,
  waitForExit,
  WorkerClosingError,
  type KindJobContext,
} from './deploy-steps.js';
import { runDirOf } from './run-dir.js';
import { isFinalStatus } from './run-state.js';
import type { RunWorkerDeps } from './run-worker.js';
import type { RunRecord } from './run-types.js';

/** File in the run directory that receives the report (stdout of check-data). */
export const DATASET_REPORT_FILE = 'report.json';
/** Tokenizer for length statistics when the recipe names no model. */
export const DEFAULT_TOKENIZER_MODEL = 'tiny-random-phi3';
const MAX_REPORT_BYTES = 4 * 1024 * 1024;

// Runs "$@" with stdout in report.json, so the trainer's log lines (stderr) stay in train.log.
const STDOUT_TO_REPORT = `exec "$@" > ${DATASET_REPORT_FILE}`;

/** Builds the argv of the check, which runs in the run directory. */
export function buildCheckDataCommand(recipe: Pick<DatasetRecipe, 'path' | 'format' | 'model' | 'maxLength'>, python: string, dataPath = recipe.path): string[] {
  const trainer = [python, '-m', 'trainops_trainer', 'check-data', dataPath, '--json', '--model', recipe.model ?? DEFAULT_TOKENIZER_MODEL];
  trainer.push('--model-max-length', String(recipe.maxLength));
  if (recipe.format !== undefined) trainer.push('--format', recipe.format);
  return ['sh', '-c', STDOUT_TO_REPORT, 'check-data', ...trainer];
}

export async function processDatasetRun(deps: RunWorkerDeps, initial: RunRecord, context: KindJobContext): Promise<void> {
  const { logger } = context;
  if (isFinalStatus(initial.status)) return repostFinalOutcome(deps, initial);
  const recipe = deps.config.recipes[initial.recipe];
  const vm = deps.config.vms[initial.vm];
  if (recipe?.kind !== 'dataset' || !vm) {
    const message = recipe?.kind !== 'dataset' ? `"${initial.recipe}" is not a dataset recipe` : `unknown VM "${initial.vm}"`;
    await finishRun(deps, initial, 'failed', { failureClass: 'config_error', failureMessage: message }, logger);
    throw new UnrecoverableError(`run #${initial.id}: ${message}`);
  }

  try {
    await checkOnVm(deps, initial, recipe, vm, context);
  } catch (error) {
    if (error instanceof WorkerClosingError) return returnJobToQueue(context);
    await settleAfterJobError(deps, initial.id, context, error);
    throw error;
  }
}

async function checkOnVm(deps: RunWorkerDeps, initial: RunRecord, recipe: DatasetRecipe, vm: VmConfig, context: KindJobContext): Promise<void> {
  const { logger } = context;
  let { run, host } = await prepareHost(deps, initial, logger);
  if (await endIfCancelledBeforeLaunch(deps, run, logger)) return;
  run = await syncTrainerCode(deps, run, host, vm, logger);

  const runDir = runDirOf(vm, run.id);
  // `~/data/x.jsonl` must be expanded here: the trainer receives it as an argument, not through a shell.
  const dataPath = await host.resolvePath(recipe.path);
  const launch = await launchRun(host, { runDir, codeDir: run.codeDir, python: vm.python, command: buildCheckDataCommand(recipe, vm.python, dataPath), attempt: run.attempt });
  logger.info({ attached: launch.attached, pid: launch.pid }, launch.attached ? 'attached to the data check' : 'data check launched');
  run = await markLaunched(deps, run);

  const wait = await waitForExit(deps, run, runDir, deps.pollMs ?? deps.config.runs.pollSeconds * 1000, context.signal);
  if (!wait.exited) {
    await loseRun(deps, await deps.store.require(run.id), logger);
    return;
  }
  const state = wait.state;
  host = await deps.hosts.get(run.vm);
  const file = await host.readFileRange(`${runDir}/${DATASET_REPORT_FILE}`, 0, MAX_REPORT_BYTES);
  const report = parseCheckDataOutput(file.data.toString('utf8'));
  run = await deps.store.require(run.id);

  if (run.cancelRequestedBy) {
    await finishRun(deps, run, 'cancelled', { exitCode: state.exitCode ?? undefined }, logger);
    return;
  }
  if (!report) {
    const tail = await readLogTail(host, runDir);
    const message = deps.thread.translate('dataset.error.no_report', { code: state.exitCode ?? '—', tail: tail || '—' });
    await failRun(deps, run, { failureClass: 'unknown', failureMessage: message, exitCode: state.exitCode ?? undefined }, logger);
    return;
  }

  const text = formatDatasetReport(report, targetRowsOf(run) ?? recipe.targetRows, deps.thread.translate.bind(deps.thread));
  if (report.error) {
    // The file itself is unusable: a data error, which no restart fixes.
    await finishRun(deps, run, 'failed', { failureClass: 'data_error', failureMessage: text, exitCode: state.exitCode ?? undefined }, logger);
    return;
  }
  await deps.thread.postReply(run, `run:${run.id}:dataset-report:a${run.attempt}`, text);
  await finishRun(deps, run, 'succeeded', { exitCode: state.exitCode ?? undefined }, logger);
}

/** Returns the target range that `/dataset check` stored from the linked plan item, if any. */
function targetRowsOf(run: RunRecord): { min: number; max: number } | undefined {
  const { target_min: min, target_max: max } = run.overrides;
  return typeof min === 'number' && typeof max === 'number' ? { min, max } : undefined;
}
