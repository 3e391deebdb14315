import { stopDeployment } from '../jobs/deploy-worker.js';
import { parseDeploy, type DeployCommand } from './deploy-parse.js';
import { checkRunAction } from './permissions.js';
import { announcePlanLink } from './plan-command.js';
import { defineCommand } from './registry.js';

/**
 * `/deploy`: queues a deployment (a run of kind deploy), or stops the deployment serving
 * on a VM. Stopping someone else's deployment needs on-call or admin, as cancelling does.
 */
export const deployCommand = defineCommand<DeployCommand>({
  name: 'deploy',
  aliases: ['部署'],
  helpKey: 'deploy.help',
  parse: parseDeploy,
  async handle(command, ctx, deps) {
    if (command.action === 'stop') {
      const serving = (await deps.runStore.listActive()).filter((run) => run.kind === 'deploy' && run.vm === command.vm);
      const run = serving.find((candidate) => candidate.status === 'serving') ?? serving[0];
      if (!run) {
        await ctx.respond(ctx.t('deploy.nothing_serving', { vm: command.vm }));
        return;
      }
      const permission = checkRunAction(deps.config, ctx.userId, run.userId);
      if (!permission.allowed) {
        await ctx.respond(ctx.t(permission.key, permission.params));
        return;
      }
      const vm = deps.config.vms[command.vm];
      if (run.status !== 'serving' || !deps.hosts || !vm) {
        // Not serving yet (queued or starting): cancelling stops it wherever it is.
        await deps.runControl.cancelRun(run.id, ctx.userId);
      } else {
        await stopDeployment({ store: deps.runStore }, run, vm, await deps.hosts.get(command.vm), ctx.userId);
      }
      ctx.logger.info({ runId: run.id, vm: command.vm }, 'deployment stop requested');
      await ctx.respond(ctx.t('deploy.stop_sent', { id: run.id, vm: command.vm }));
      return;
    }

    const run = await deps.enqueue({
      kind: 'deploy',
      recipe: command.recipe,
      vm: command.vm,
      userId: ctx.userId,
      channel: ctx.channel,
      overrides: {},
      ...(command.sourceRunId ? { sourceRunId: command.sourceRunId } : {}),
      ...(command.planItem ? { planItem: command.planItem } : {}),
    });
    ctx.logger.info({ runId: run.id, recipe: run.recipe, vm: run.vm }, 'deployment queued');
    const planLink = await announcePlanLink(run, ctx, deps);
    const queued = ctx.t('deploy.queued', { id: run.id, recipe: run.recipe, vm: run.vm });
    await ctx.respond(planLink ? `${queued}\n${planLink}` : queued);
  },
});
