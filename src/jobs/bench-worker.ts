/**
 * The comm benchmark processor: runs `trainops_trainer bench-comm` under
 * torch.distributed.run with one process per GPU (two gloo processes on a VM without
 * GPUs). It then posts a table and a chart of bus bandwidth against message size, with
 * the NCCL version and the GPU interconnect.
 */
import { benchRecipeSchema, type BenchRecipe, type Config, type VmConfig } from '../config/schema.js';
import { DEFAULT_BENCH_RECIPE } from '../commands/bench-parse.js';
import { renderBandwidthChart } from './bench-chart.js';
import { formatBenchReport, parseBenchOutput } from './bench-format.js';
import { finishRun, type KindJobContext } from './deploy-steps.js';
import { failWithLogTail, processKindRun, runCommandToExit } from './kind-job.js';
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
  await processKindRun(deps, initial, context, {
    kind: 'bench',
    recipeOf: (name) => benchRecipeFor(deps.config, name),
    process: (recipe, vm) => benchOnVm(deps, initial, recipe, vm, context),
  });
}

async function benchOnVm(deps: RunWorkerDeps, initial: RunRecord, recipe: BenchRecipe, vm: VmConfig, context: KindJobContext): Promise<void> {
  const exit = await runCommandToExit(deps, initial, vm, context, {
    label: 'benchmark',
    buildCommand: async (host, runDir) => buildBenchCommand(recipe, vm, `${await host.resolvePath(runDir)}/${BENCH_OUTPUT_FILE}`),
  });
  if (!exit) return;

  const file = await exit.host.readFileRange(`${exit.runDir}/${BENCH_OUTPUT_FILE}`, 0, MAX_OUTPUT_BYTES);
  const output = parseBenchOutput(file.data.toString('utf8'));
  if (exit.exitCode !== 0 || output.results.length === 0) {
    await failWithLogTail(deps, exit, 'bench.error.no_results', context.logger);
    return;
  }

  await postBenchReport(deps, exit.run, output);
  await finishRun(deps, exit.run, 'succeeded', { exitCode: 0 }, context.logger);
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
