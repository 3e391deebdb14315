/**
 * The data set check processor: runs the trainer's `check-data --json` on the VM,
 * detached like any run, and posts its report in the run's thread. A report with
 * problems is a successful check. A file that cannot be read at all (not found, unknown
 * format, undetectable encoding) fails the run with the trainer's message.
 */
import type { DatasetRecipe, VmConfig } from '../config/schema.js';
import { formatDatasetReport, parseCheckDataOutput } from './dataset-report.js';
import { finishRun, type KindJobContext } from './deploy-steps.js';
import { failWithLogTail, processKindRun, runCommandToExit } from './kind-job.js';
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
export function buildCheckDataCommand(recipe: CheckDataRecipe, python: string, dataPath = recipe.path): string[] {
  return ['sh', '-c', STDOUT_TO_REPORT, 'check-data', python, ...checkDataArguments(recipe, dataPath)];
}

type CheckDataRecipe = Pick<DatasetRecipe, 'path' | 'format' | 'model' | 'maxLength' | 'rewards'>;

/** Builds the trainer's `-m trainops_trainer check-data` arguments for a data set recipe and a file. */
export function checkDataArguments(recipe: Partial<CheckDataRecipe> | undefined, dataPath: string): string[] {
  const argv = ['-m', 'trainops_trainer', 'check-data', dataPath, '--json', '--model', recipe?.model ?? DEFAULT_TOKENIZER_MODEL];
  argv.push('--model-max-length', String(recipe?.maxLength ?? 512));
  if (recipe?.format !== undefined) argv.push('--format', recipe.format);
  if (recipe?.rewards !== undefined) argv.push('--rewards', recipe.rewards);
  return argv;
}

export async function processDatasetRun(deps: RunWorkerDeps, initial: RunRecord, context: KindJobContext): Promise<void> {
  await processKindRun(deps, initial, context, {
    kind: 'dataset',
    process: (recipe, vm) => checkOnVm(deps, initial, recipe, vm, context),
  });
}

async function checkOnVm(deps: RunWorkerDeps, initial: RunRecord, recipe: DatasetRecipe, vm: VmConfig, context: KindJobContext): Promise<void> {
  const { logger } = context;
  const exit = await runCommandToExit(deps, initial, vm, context, {
    label: 'data check',
    // `~/data/x.jsonl` must be expanded here: the trainer receives it as an argument, not through a shell.
    buildCommand: async (host) => buildCheckDataCommand(recipe, vm.python, await host.resolvePath(recipe.path)),
  });
  if (!exit) return;

  const { run, exitCode } = exit;
  const file = await exit.host.readFileRange(`${exit.runDir}/${DATASET_REPORT_FILE}`, 0, MAX_REPORT_BYTES);
  const report = parseCheckDataOutput(file.data.toString('utf8'));
  if (!report) {
    await failWithLogTail(deps, exit, 'dataset.error.no_report', logger);
    return;
  }

  const text = formatDatasetReport(report, targetRowsOf(run) ?? recipe.targetRows, deps.thread.translate.bind(deps.thread));
  if (report.error) {
    // The file itself is unusable: a data error, which no restart fixes.
    await finishRun(deps, run, 'failed', { failureClass: 'data_error', failureMessage: text, exitCode: exitCode ?? undefined }, logger);
    return;
  }
  await deps.thread.postReply(run, `run:${run.id}:dataset-report:a${run.attempt}`, text);
  await finishRun(deps, run, 'succeeded', { exitCode: exitCode ?? undefined }, logger);
}

/** Returns the target range that `/dataset check` stored from the linked plan item, if any. */
function targetRowsOf(run: RunRecord): { min: number; max: number } | undefined {
  const { target_min: min, target_max: max } = run.overrides;
  return typeof min === 'number' && typeof max === 'number' ? { min, max } : undefined;
}
