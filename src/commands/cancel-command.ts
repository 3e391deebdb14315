import { isParseError, parseError } from './parse-error.js';
import { checkRunAction } from './permissions.js';
import { defineCommand } from './registry.js';
import { parseRunRef } from './run-ref.js';
import { tokenize } from './tokenize.js';

/**
 * `/cancel [#id]`: the run's process gets SIGTERM (a queued run is dropped) and the
 * run ends `cancelled`. Someone else's run needs on-call or admin.
 */
export interface CancelCommand {
  readonly runId: string;
}

export const cancelCommand = defineCommand<CancelCommand>({
  name: 'cancel',
  aliases: ['取消', 'stop'],
  helpKey: 'core.help.cancel',
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

    const permission = checkRunAction(deps.config, ctx.userId, run.userId);
    if (!permission.allowed) {
      ctx.logger.info({ runId: run.id }, 'cancel rejected: not the owner, on-call or admin');
      await ctx.respond(ctx.t(permission.key, permission.params));
      return;
    }

    const result = await deps.runControl.cancelRun(run.id, ctx.userId);
    ctx.logger.info({ runId: run.id, outcome: result.kind }, 'cancel handled');
    if (result.kind === 'not_active') {
      await ctx.respond(ctx.t('core.cancel.already_final', { id: run.id, status: ctx.t(`runs.status.${result.run.status}`) }));
    } else if (result.kind === 'already_ended') {
      await ctx.respond(ctx.t('runs.cancel.alreadyEnded', { id: run.id }));
    } else if (result.kind === 'signalled') {
      await ctx.respond(ctx.t('core.cancel.signalled', { id: run.id }));
    } else {
      await ctx.respond(ctx.t('core.cancel.done', { id: run.id }));
    }
  },
});
