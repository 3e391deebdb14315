import type { PlanItem } from './plan-types.js';
import type { CommandContext } from './context.js';
import type { HandlerDeps } from './deps.js';
import { announcePlanLink } from './plan-command.js';
import { shiftWeek, weekKeyOf } from './plan-week.js';
import { defineCommand } from './registry.js';
import { parseTrain, type TrainCommand } from './train-parse.js';

/** `/train`: queues a training run and points the person at its thread. */
export const trainCommand = defineCommand<TrainCommand>({
  name: 'train',
  aliases: ['训练'],
  helpKey: 'core.help.train',
  parse: parseTrain,
  async handle(command, ctx, deps) {
    // A run for a plan item that does not exist would train without being tracked, so
    // `for <item>` is checked before anything is queued.
    if (command.planItem && deps.plan) {
      const missing = await describeMissingPlanItem(command.planItem, ctx, deps);
      if (missing) {
        ctx.logger.info({ planItem: command.planItem }, 'train request rejected: plan item not found');
        await ctx.respond(missing);
        return;
      }
    }

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

/**
 * Returns the error for `for <number>` when no plan item can take the run, listing the
 * open items, or undefined when the item exists. Like the plan linker, it accepts an
 * item of this week, or an unfinished item of last week.
 */
async function describeMissingPlanItem(number: string, ctx: CommandContext, deps: HandlerDeps): Promise<string | undefined> {
  const store = deps.plan!.store;
  const timeZone = deps.config.timezone;
  const thisWeek = weekKeyOf(ctx.now, timeZone);
  const lastWeek = shiftWeek(thisWeek, -1, timeZone);

  const current = await store.get({ week: thisWeek, number });
  if (current) return undefined;
  const late = await store.get({ week: lastWeek, number });
  if (late && late.status !== 'done') return undefined;

  const open = [...(await store.list(lastWeek)), ...(await store.list(thisWeek))].filter((item: PlanItem) => item.status !== 'done');
  if (open.length === 0) return ctx.t('plan.error.run_item_missing_none_open', { number });
  const list = open.map((item) => ctx.t('plan.error.open_item', { number: item.number, title: item.title })).join(ctx.t('core.list_separator'));
  return ctx.t('plan.error.run_item_missing', { number, open: list });
}
