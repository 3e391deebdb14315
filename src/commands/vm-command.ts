import { actions, button, section } from '../bot/blocks.js';
import { formatDuration } from '../jobs/run-reporter.js';
import { formatHours, formatSavedCost, weeklySavings } from '../jobs/vm-activity.js';
import { probeGpus, probeLoginSessions } from '../remote/vm-probe.js';
import { ensureVmRunning } from '../remote/vm-control.js';
import type { CommandContext } from './context.js';
import type { HandlerDeps } from './deps.js';
import { checkRole } from './permissions.js';
import { defineCommand } from './registry.js';
import { checkVmStop, describeVmFailure, type VmPorts } from './vm-deps.js';
import { formatVmList, gatherVmOverviews } from './vm-list.js';
import { parseVm, type VmCommand } from './vm-parse.js';
import { formatVmStatus, type VmStatusReport } from './vm-status.js';

/** action_id of the admin's force-deallocate button; the value is the VM name. */
export const VM_STOP_CONFIRM_ACTION = 'vm_stop_confirm';

/**
 * `/vm list|start|stop|status`. Starting is open to every member. Deallocating needs
 * the VM's owner or an admin, and is rejected while a run is active on the VM unless an
 * admin confirms with the force button. Azure failures reach the person as the
 * catalog's `vm.azure_error.*` message.
 */
export const vmCommand = defineCommand<VmCommand>({
  name: 'vm',
  aliases: ['虚拟机'],
  helpKey: 'vm.help',
  parse: parseVm,
  async handle(command, ctx, deps) {
    const ports = deps.vm;
    if (!ports) {
      await ctx.respond(ctx.t('core.error.not_configured', { port: 'VmControl' }));
      return;
    }

    try {
      switch (command.action) {
        case 'list':
          await listVms(ctx, deps, ports);
          break;
        case 'start':
          await startVm(command.vm, ctx, deps, ports);
          break;
        case 'stop':
          await stopVm(command.vm, ctx, deps, ports, false);
          break;
        case 'status':
          await showVmStatus(command.vm, ctx, ports);
          break;
      }
    } catch (error) {
      const text = describeVmFailure(error, ctx.t);
      if (text === undefined) throw error;
      ctx.logger.warn({ err: error, vm: 'vm' in command ? command.vm : undefined, action: command.action }, 'VM operation failed');
      await ctx.respond(text);
    }
  },
});

async function listVms(ctx: CommandContext, deps: HandlerDeps, ports: VmPorts): Promise<void> {
  const overviews = await gatherVmOverviews(deps.config, ports, deps.runStore, ctx.t);
  await ctx.respond(formatVmList(deps.config, overviews, deps.clock.now(), ctx.t));
}

async function startVm(vm: string, ctx: CommandContext, deps: HandlerDeps, ports: VmPorts): Promise<void> {
  if (!ports.control.isManaged(vm)) {
    await ctx.respond(ctx.t('vm.start.not_managed', { vm }));
    return;
  }
  const state = await ports.control.getPowerState(vm);
  if (state === 'running') {
    await ctx.respond(ctx.t('vm.start.already_running', { vm }));
    return;
  }
  if (state !== 'stopped' && state !== 'deallocated') {
    await ctx.respond(ctx.t('vm.start.waiting', { vm, power: ctx.t(`vm.power.${state}`) }));
  }

  const result = await ensureVmRunning(actorControl(ports, ctx.userId), vm, {
    clock: deps.clock,
    ...(ports.pollMs !== undefined ? { pollMs: ports.pollMs } : {}),
    onStarting: () => ctx.respond(ctx.t('vm.start.starting', { vm })),
  });
  ctx.logger.info({ vm, started: result.started, elapsedMs: result.elapsedMs }, 'VM start requested by a person');
  await ctx.respond(
    result.started
      ? ctx.t('vm.start.done', { vm, duration: formatDuration(result.elapsedMs, ctx.t) })
      : ctx.t('vm.start.already_running', { vm }),
  );
}

/**
 * Deallocates `vm` for `ctx.userId` after the permission and active-run checks. `force`
 * (the admin's confirmation button) skips the active-run check but not the permission.
 */
export async function stopVm(vm: string, ctx: CommandContext, deps: HandlerDeps, ports: VmPorts, force: boolean): Promise<void> {
  if (!ports.control.isManaged(vm)) {
    await ctx.respond(ctx.t('vm.stop.not_managed', { vm }));
    return;
  }
  const permission = checkVmStop(deps.config, ctx.userId, vm);
  if (!permission.allowed) {
    ctx.logger.info({ vm }, 'VM stop rejected: not the owner or an admin');
    await ctx.respond(ctx.t(permission.key, { vm, ...permission.params }));
    return;
  }

  const state = await ports.control.getPowerState(vm);
  if (state === 'deallocated' || state === 'deallocating') {
    await ctx.respond(ctx.t('vm.stop.already', { vm, power: ctx.t(`vm.power.${state}`) }));
    return;
  }

  const activeRuns = (await deps.runStore.listActive()).filter((run) => run.vm === vm);
  if (activeRuns.length > 0 && !force) {
    const runs = activeRuns.map((run) => `#${run.id} ${run.recipe}`).join('、');
    ctx.logger.info({ vm, runIds: activeRuns.map((run) => run.id) }, 'VM stop rejected: runs are active');
    if (!checkRole(deps.config, ctx.userId, ['admin']).allowed) {
      await ctx.respond(ctx.t('vm.stop.active_runs', { vm, runs }));
      return;
    }
    const text = ctx.t('vm.stop.active_runs_admin', { vm, runs });
    const confirm = button(ctx.t('vm.stop.force_button', { vm }), VM_STOP_CONFIRM_ACTION, vm, {
      style: 'danger',
      confirm: {
        title: ctx.t('vm.stop.confirm_title'),
        text: ctx.t('vm.stop.confirm_text', { vm }),
        confirm: ctx.t('vm.stop.confirm_yes'),
        deny: ctx.t('vm.stop.confirm_no'),
      },
    });
    await ctx.respond({ text, blocks: [section(text), actions([confirm])] });
    return;
  }

  const began = deps.clock.now().getTime();
  await ctx.respond(ctx.t('vm.stop.deallocating', { vm }));
  await actorControl(ports, ctx.userId).deallocate(vm, ctx.userId);
  const now = deps.clock.now();
  ctx.logger.info({ vm, forced: force, activeRuns: activeRuns.length }, 'VM deallocated by a person');

  const savings = await weeklySavings(ports.activity, deps.config, vm, now);
  await ctx.respond(
    ctx.t('vm.stop.done', {
      vm,
      duration: formatDuration(now.getTime() - began, ctx.t),
      hours: formatHours(savings.hours),
      cost: formatSavedCost(savings.cost, ctx.t),
    }),
  );
}

/**
 * Handles a click on the force-deallocate button (`vm_stop_confirm`, value = VM name):
 * checks again that the clicker is an admin, then deallocates despite active runs.
 */
export async function handleVmStopConfirm(vm: string, ctx: CommandContext, deps: HandlerDeps): Promise<void> {
  const ports = deps.vm;
  if (!ports) {
    await ctx.respond(ctx.t('core.error.not_configured', { port: 'VmControl' }));
    return;
  }
  if (!Object.hasOwn(deps.config.vms, vm)) {
    await ctx.respond(ctx.t('vm.stop.stale_button', { vm: vm.slice(0, 40) }));
    return;
  }
  const admin = checkRole(deps.config, ctx.userId, ['admin']);
  if (!admin.allowed) {
    await ctx.respond(ctx.t(admin.key, admin.params));
    return;
  }
  try {
    await stopVm(vm, ctx, deps, ports, true);
  } catch (error) {
    const text = describeVmFailure(error, ctx.t);
    if (text === undefined) throw error;
    ctx.logger.warn({ err: error, vm }, 'forced VM deallocation failed');
    await ctx.respond(text);
  }
}

async function showVmStatus(vm: string, ctx: CommandContext, ports: VmPorts): Promise<void> {
  const managed = ports.control.isManaged(vm);
  const state = managed ? await ports.control.getPowerState(vm) : 'running';
  const report: VmStatusReport = {
    vm,
    power: managed ? ctx.t(`vm.power.${state}`) : ctx.t('vm.power.always_on'),
    running: state === 'running',
  };

  if (report.running) {
    try {
      const host = await ports.hosts.get(vm);
      report.gpus = await probeGpus(host);
      report.sessions = await probeLoginSessions(host);
    } catch (error) {
      const text = describeVmFailure(error, ctx.t);
      if (text === undefined) throw error;
      report.unreachable = text;
    }
  }
  await ctx.respond(formatVmStatus(report, ctx.t));
}

/** Wraps the control so starts and deallocations are recorded with the person as the actor. */
function actorControl(ports: VmPorts, userId: string): VmPorts['control'] {
  const control = ports.control;
  return {
    isManaged: (vm) => control.isManaged(vm),
    getPowerState: (vm) => control.getPowerState(vm),
    start: (vm) => control.start(vm, userId),
    deallocate: (vm) => control.deallocate(vm, userId),
  };
}
