import { keepVmRunning, VM_KEEP_RUNNING_ACTION } from '../jobs/auto-stop.js';
import { localeFor, type CommandContext } from './context.js';
import type { HandlerDeps } from './deps.js';
import { checkMember } from './permissions.js';
import type { ActionRequest, ActionSpec } from './registry.js';
import { handleVmStopConfirm, VM_STOP_CONFIRM_ACTION } from './vm-command.js';

/**
 * Handlers of the `/vm` and auto-stop buttons, registered in `allActions` in
 * `src/commands/index.ts`. The Bolt adapter acknowledges the click before calling them.
 */

/** "Keep running" on an auto-stop warning; the value is `<vm>:<warning id>`. */
export const vmKeepRunningAction: ActionSpec = {
  actionId: VM_KEEP_RUNNING_ACTION,
  async handle(action, deps) {
    const ctx = actionContext(action, deps);
    const membership = checkMember(deps.config, action.userId);
    if (!membership.allowed) {
      await ctx.respond(ctx.t(membership.key, membership.params));
      return;
    }
    const [vm = '', warningId = ''] = action.value.split(':');
    const ports = deps.vm;
    if (!ports || !Object.hasOwn(deps.config.vms, vm)) {
      await ctx.respond(ctx.t('vm.autostop.stale', { vm: vm.slice(0, 40) }));
      return;
    }

    const warningCancelled = await keepVmRunning(
      { activity: ports.activity, chat: deps.chat, clock: deps.clock, logger: ctx.logger, config: deps.config },
      vm,
      warningId,
      action.userId,
    );
    const idle = deps.config.vms[vm]!.autoStop.idleMinutes;
    await ctx.respond(warningCancelled ? ctx.t('vm.autostop.kept_ephemeral', { vm, idle }) : ctx.t('vm.autostop.stale', { vm }));
  },
};

/** The admin's force-deallocate confirmation from `/vm stop`; the value is the VM name. */
export const vmStopConfirmAction: ActionSpec = {
  actionId: VM_STOP_CONFIRM_ACTION,
  async handle(action, deps) {
    await handleVmStopConfirm(action.value, actionContext(action, deps), deps);
  },
};

export const vmActions: readonly ActionSpec[] = [vmKeepRunningAction, vmStopConfirmAction];

function actionContext(action: ActionRequest, deps: HandlerDeps): CommandContext {
  const locale = localeFor(deps.config, action.userId);
  return {
    config: deps.config,
    userId: action.userId,
    channel: action.channel,
    locale,
    now: deps.clock.now(),
    source: 'action',
    t: deps.translate(locale),
    logger: deps.logger.child({ userId: action.userId, actionId: action.actionId }),
    respond: action.respond,
  };
}
