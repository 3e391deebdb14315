import { actions, button, header, RUN_ACTIONS, section } from '../bot/blocks.js';
import { defineCommand } from './registry.js';
import { findRunOrRespond } from './run-lookup.js';
import { parseLoneRunRef } from './run-ref.js';
import { runDetail } from './run-summary.js';
import { isActiveStatus } from '../jobs/run-state.js';

/** `/status [#id]`: one run's state, progress and outcome, ephemerally. */
export interface StatusCommand {
  /** Run id, absent when neither `#id` nor the thread names one: the handler then uses the person's only active run. */
  readonly runId?: string;
}

export const statusCommand = defineCommand<StatusCommand>({
  name: 'status',
  aliases: ['状态'],
  helpKey: 'core.help.status',
  parse: parseLoneRunRef,
  async handle(command, requestCtx, deps) {
    const found = await findRunOrRespond(command.runId, requestCtx, deps);
    if (!found) return;
    const { run, ctx } = found;

    const title = ctx.t('core.status.title', { id: run.id, recipe: run.recipe, vm: run.vm });
    const detail = runDetail(run, deps.config, ctx.t);
    const buttons = [button(ctx.t('core.button.logs'), RUN_ACTIONS.logs, run.id)];
    if (isActiveStatus(run.status)) {
      buttons.push(
        button(ctx.t('core.button.cancel'), RUN_ACTIONS.cancel, run.id, {
          style: 'danger',
          confirm: {
            title: ctx.t('core.button.cancel_confirm_title'),
            text: ctx.t('core.button.cancel_confirm_text'),
            confirm: ctx.t('core.button.confirm'),
            deny: ctx.t('core.button.deny'),
          },
        }),
      );
    }
    await ctx.respond({ text: `${title}\n${detail}`, blocks: [header(title), section(detail), actions(buttons)] });
  },
});
