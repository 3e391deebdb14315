import { parseTargetRows } from '../jobs/dataset-report.js';
import type { RunRecord } from '../jobs/run-types.js';
import type { CommandContext } from './context.js';
import { parseDataset, type DatasetCommand } from './dataset-parse.js';
import type { HandlerDeps } from './deps.js';
import { announcePlanLink } from './plan-command.js';
import { defineCommand } from './registry.js';

/**
 * `/dataset check`: queues the trainer's `check-data` on the VM; the report goes to the
 * run's thread. When the run is linked to a plan item whose title names a row range
 * (`3k-10k 条左右`), the range is stored on the run as `target_min`/`target_max`, and the
 * report places the row count against it. Otherwise the recipe's `targetRows` applies.
 */
export const datasetCommand = defineCommand<DatasetCommand>({
  name: 'dataset',
  aliases: ['数据集'],
  helpKey: 'dataset.help',
  parse: parseDataset,
  async handle(command, ctx, deps) {
    const run = await deps.enqueue({
      kind: 'dataset',
      recipe: command.recipe,
      vm: command.vm,
      userId: ctx.userId,
      channel: ctx.channel,
      overrides: {},
      ...(command.planItem ? { planItem: command.planItem } : {}),
    });
    ctx.logger.info({ runId: run.id, recipe: run.recipe, vm: run.vm }, 'data set check queued');
    const planLink = await announcePlanLink(run, ctx, deps);
    await storePlanTarget(run, ctx, deps);
    const queued = ctx.t('dataset.queued', { id: run.id, recipe: run.recipe, vm: run.vm });
    await ctx.respond(planLink ? `${queued}\n${planLink}` : queued);
  },
});

async function storePlanTarget(run: RunRecord, ctx: Pick<CommandContext, 'logger'>, deps: HandlerDeps): Promise<void> {
  if (!deps.plan) return;
  try {
    const ref = await deps.plan.store.findRunLink(run.id);
    const item = ref ? await deps.plan.store.get(ref) : undefined;
    const target = item ? parseTargetRows(item.title) : undefined;
    if (!target) return;
    await deps.runStore.update(run.id, (stored) => ({ overrides: { ...stored.overrides, target_min: target.min, target_max: target.max } }));
  } catch (error) {
    ctx.logger.warn({ err: error, runId: run.id }, 'reading the plan item target failed; the recipe target applies');
  }
}
