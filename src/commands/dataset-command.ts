import { parseDataset, type DatasetCommand } from './dataset-parse.js';
import { defineCommand } from './registry.js';

/** `/dataset check`: queues the trainer's `check-data` on the VM; the report goes to the run's thread. */
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
    await ctx.respond(ctx.t('dataset.queued', { id: run.id, recipe: run.recipe, vm: run.vm }));
  },
});
