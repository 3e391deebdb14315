import { actions, button, header, RUN_ACTIONS, section } from '../bot/blocks.js';
import { isParseError, parseError } from './parse-error.js';
import { defineCommand } from './registry.js';
import { parseRunRef } from './run-ref.js';
import { runDetail } from './run-summary.js';
import { tokenize } from './tokenize.js';
import { isActiveStatus } from '../jobs/run-state.js';

/** `/status [#id]`: one run's state, progress and outcome, ephemerally. */
export interface StatusCommand {
  readonly runId: string;
}

export const statusCommand = defineCommand<StatusCommand>({
  name: 'status',
  aliases: ['状态'],
  helpKey: 'core.help.status',
  parse(text, ctx) {
    const tokens = tokenize(text);
    if (isParseError(tokens)) return tokens;
    if (tokens.length > 1) return parseError('core.error.unexpected_word', { word: tokens[1]!.slice(0, 40) });
    const runId = parseRunRef(tokens[0], ctx);
    return isParseError(runId) ? runId : { runId };
  },
  async handle(command, ctx, deps) {
    const run = await deps.runStore.get(command.runId);
    if (!run) {
      await ctx.respond(ctx.t('core.error.run_not_found', { id: command.runId }));
      return;
    }

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
