/**
 * The comm benchmark processor: runs `trainops_trainer bench-comm` under
 * torch.distributed.run with one process per GPU (two gloo processes on a VM without
 * GPUs). It then posts a table and a chart of bus bandwidth against message size, with
 * the NCCL version and the GPU interconnect.
 */
import { UnrecoverableError } from 'bullmq';

import { benchRecipeSchema, type BenchRecipe, type Config, type VmConfig } from '../config/schema.js';
import { DEFAULT_BENCH_RECIPE } from '../commands/bench-parse.js';
import { launchRun } from '../remote/launcher.js';
import { renderBandwidthChart } from './bench-chart.js';
import { formatBenchReport, parseBenchOutput } from './bench-format.js';
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

/** Output file of the benchmark in the run directory. */
export const BENCH_OUTPUT_FILE = 'bench.jsonl';
const MAX_OUTPUT_BYTES = 1024 * 1024;

/** Processes per benchmark: one per GPU, or two gloo processes on a VM without GPUs. */
export function benchProcessCount(vm: Pick<VmConfig, 'gpus'>): number {
  return vm.gpus > 0 ? vm.gpus : 2;
}

/** Returns the recipe of a benchmark run. The name `comm` without a configured recipe means the defaults. */
export function benchRecipeFor(config: Pick<Config, 'recipes'>, name: string): BenchRecipe | undefined {
  const recipe = config.recipes[name];
  if (recipe?.kind === 'bench') return recipe;
  if (recipe === undefined && name === DEFAULT_BENCH_RECIPE) return benchRecipeSchema.parse({ kind: 'bench' });
  return undefined;
}

/** Builds the argv of the benchmark; `outputPath` is an absolute path on the VM. */
export function buildBenchCommand(recipe: BenchRecipe, vm: Pick<VmConfig, 'gpus' | 'python'>, outputPath: string): string[] {
  return [
    vm.python,
    '-m',
    'torch.distributed.run',
    '--standalone',
    `--nproc_per_node=${benchProcessCount(vm)}`,
    '-m',
    'trainops_trainer',
    'bench-comm',
    '--min_bytes',
    String(recipe.minBytes),
    '--max_bytes',
    String(recipe.maxBytes),
    '--iterations',
    String(recipe.iterations),
    '--warmup',
    String(recipe.warmup),
    '--backend',
    vm.gpus > 0 ? 'nccl' : 'gloo',
    '--output',
    outputPath,
  ];
}

export async function processBenchRun(deps: RunWorkerDeps, initial: RunRecord, context: KindJobContext): Promise<void> {
  const { logger } = context;
  if (isFinalStatus(initial.status)) return repostFinalOutcome(deps, initial);
  const recipe = benchRecipeFor(deps.config, initial.recipe);
  const vm = deps.config.vms[initial.vm];
  if (!recipe || !vm) {
    const message = !recipe ? `"${initial.recipe}" is not a bench recipe` : `unknown VM "${initial.vm}"`;
    await finishRun(deps, initial, 'failed', { failureClass: 'config_error', failureMessage: message }, logger);
    throw new UnrecoverableError(`run #${initial.id}: ${message}`);
  }

  try {
    let { run, host } = await prepareHost(deps, initial, logger);
    if (await endIfCancelledBeforeLaunch(deps, run, logger)) return;
    run = await syncTrainerCode(deps, run, host, vm, logger);

    const runDir = runDirOf(vm, run.id);
    const outputPath = `${await host.resolvePath(runDir)}/${BENCH_OUTPUT_FILE}`;
    const command = buildBenchCommand(recipe, vm, outputPath);
    const launch = await launchRun(host, { runDir, codeDir: run.codeDir, python: vm.python, command, attempt: run.attempt });
    logger.info({ attached: launch.attached, pid: launch.pid }, launch.attached ? 'attached to the benchmark' : 'benchmark launched');
    run = await markLaunched(deps, run);

    const wait = await waitForExit(deps, run, runDir, deps.pollMs ?? deps.config.runs.pollSeconds * 1000, context.signal);
    if (!wait.exited) {
      await loseRun(deps, await deps.store.require(run.id), logger);
      return;
    }
    const state = wait.state;
    host = await deps.hosts.get(run.vm);
    const file = await host.readFileRange(outputPath, 0, MAX_OUTPUT_BYTES);
    const output = parseBenchOutput(file.data.toString('utf8'));
    run = await deps.store.require(run.id);
    if (run.cancelRequestedBy) {
      await finishRun(deps, run, 'cancelled', { exitCode: state.exitCode ?? undefined }, logger);
      return;
    }
    if (state.exitCode !== 0 || output.results.length === 0) {
      const tail = await readLogTail(host, runDir);
      const message = deps.thread.translate('bench.error.no_results', { code: state.exitCode ?? '—', tail: tail || '—' });
      await failRun(deps, run, { failureClass: 'unknown', failureMessage: message, exitCode: state.exitCode ?? undefined }, logger);
      return;
    }

    await postBenchReport(deps, run, output);
    await finishRun(deps, run, 'succeeded', { exitCode: 0 }, logger);
  } catch (error) {
    if (error instanceof WorkerClosingError) return returnJobToQueue(context);
    await settleAfterJobError(deps, initial.id, context, error);
    throw error;
  }
}

async function postBenchReport(deps: RunWorkerDeps, run: RunRecord, output: ReturnType<typeof parseBenchOutput>): Promise<void> {
  const { thread } = deps;
  const environment = output.environment;
  const text = formatBenchReport(run.vm, output, (key, params) => thread.translate(key, params));
  await thread.postReply(run, `run:${run.id}:bench-table:a${run.attempt}`, text);

  const png = renderBandwidthChart(output.results, `#${run.id} ${run.vm}: busbw vs message size (${environment?.backend ?? ''})`);
  if (png) {
    await thread.postFile(run, `run:${run.id}:bench-chart:a${run.attempt}`, {
      filename: `run-${run.id}-busbw.png`,
      title: thread.translate('bench.chart.title', { id: run.id }),
      content: png,
    });
  }
}
