import { announcePlanLink } from './plan-command.js';
import { defineCommand } from './registry.js';
import { parseTrain, type TrainCommand } from './train-parse.js';

/** `/train`: queues a training run and points the person at its thread. */
export const trainCommand = defineCommand<TrainCommand>({
  name: 'train',
  aliases: ['训练'],
  helpKey: 'core.help.train',
  parse: parseTrain,
  async handle(command, ctx, deps) {
    const run = await deps.enqueue({
      kind: 'train',
      recipe: command.recipe,
      vm: command.vm,
      userId: ctx.userId,
      channel: ctx.channel,
      overrides: command.overrides,
      ...(command.planItem ? { planItem: command.planItem } : {}),
    });
    ctx.logger.info({ runId: run.id, recipe: run.recipe, vm: run.vm }, 'run queued');
    const planLink = await announcePlanLink(run, ctx, deps);
    const queued = ctx.t('core.train.queued', { id: run.id, recipe: run.recipe, vm: run.vm });
    await ctx.respond(planLink ? `${queued}\n${planLink}` : queued);
  },
});
