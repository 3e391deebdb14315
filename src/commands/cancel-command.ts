import { hasTrainingProgress } from '../jobs/run-reporter.js';
import { checkRunAction } from './permissions.js';
import { defineCommand } from './registry.js';
import { findRunOrRespond } from './run-lookup.js';
import { parseLoneRunRef } from './run-ref.js';

/**
 * `/cancel [#id]`: the run's process gets SIGTERM (a queued run is dropped) and the
 * run ends `cancelled`. Someone else's run needs on-call or admin.
 */
export interface CancelCommand {
  /** Run id, absent when neither `#id` nor the thread names one: the handler then uses the person's only active run. */
  readonly runId?: string;
}

export const cancelCommand = defineCommand<CancelCommand>({
  name: 'cancel',
  aliases: ['取消', 'stop'],
  helpKey: 'core.help.cancel',
  parse: parseLoneRunRef,
  async handle(command, requestCtx, deps) {
    const found = await findRunOrRespond(command.runId, requestCtx, deps);
    if (!found) return;
    const { run, ctx } = found;

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
      // Only a trainer that has reported a step saves a checkpoint before it exits.
      await ctx.respond(ctx.t(hasTrainingProgress(result.run) ? 'core.cancel.signalled' : 'core.cancel.signalled_starting', { id: run.id }));
    } else {
      await ctx.respond(ctx.t('core.cancel.done', { id: run.id }));
    }
  },
});
