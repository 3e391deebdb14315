/**
 * Idle auto-stop. A VM with `autoStop.enabled` and an `azure` section is idle while no
 * run or deployment is active on it (queued and starting runs count as busy) and no
 * login session is open (`who` over SSH). After `idleMinutes` idle the bot posts a
 * warning with a "keep running" button in the team channel; after `graceMinutes` more,
 * unless someone pressed it or the VM got busy, it deallocates the VM and announces the
 * hours saved this week. Azure bills a running VM whether or not anyone uses it.
 *
 * All state (last activity, the pending warning) is in Redis, and the pending warning is
 * claimed with one atomic take, so several workers and a button click never act twice.
 */
import { randomUUID } from 'node:crypto';

import { TZDate } from '@date-fns/tz';
import { format } from 'date-fns';
import type { Logger } from 'pino';

import { actions, button, section } from '../bot/blocks.js';
import type { ChatPort } from '../bot/chat-port.js';
import { translator, type Translate } from '../bot/i18n.js';
import type { Config } from '../config/schema.js';
import { AzureVmError } from '../remote/azure-errors.js';
import type { HostProvider } from '../remote/host.js';
import { probeLoginSessions } from '../remote/vm-probe.js';
import type { VmControl } from '../remote/vm-control.js';
import type { Clock } from './clock.js';
import { formatDuration } from './run-reporter.js';
import type { RunRecord } from './run-types.js';
import { formatHours, formatSavedCost, weeklySavings, type AutoStopWarning, type VmActivityStore } from './vm-activity.js';

/** action_id of the "keep running" button; the value is `<vm>:<warning id>`. */
export const VM_KEEP_RUNNING_ACTION = 'vm_keep_running';

/** The actor recorded for deallocations the auto-stop performs. */
export const AUTO_STOP_ACTOR = 'auto-stop';

export type AutoStopOutcome =
  | 'disabled'
  | 'not_running'
  | 'busy'
  | 'unchecked'
  | 'timer_started'
  | 'idle'
  | 'warned'
  | 'waiting'
  | 'deallocated'
  | 'failed';

export interface AutoStopDeps {
  config: Config;
  control: VmControl;
  activity: VmActivityStore;
  /** Active runs (RunStore); each one on a VM keeps it busy. */
  runs: { listActive(): Promise<RunRecord[]> };
  hosts: HostProvider;
  chat: ChatPort;
  clock: Clock;
  logger: Logger;
}

export class AutoStopper {
  private readonly t: Translate;

  constructor(private readonly deps: AutoStopDeps) {
    this.t = translator(deps.config.locale);
  }

  /** VMs the policy applies to: auto-stop enabled and managed in Azure. */
  eligibleVms(): string[] {
    return Object.entries(this.deps.config.vms)
      .filter(([name, vm]) => vm.autoStop.enabled && this.deps.control.isManaged(name))
      .map(([name]) => name);
  }

  /** Checks every eligible VM at once; one VM's failure does not stop the others. */
  async checkAll(): Promise<Record<string, AutoStopOutcome>> {
    const vms = this.eligibleVms();
    const active = await this.deps.runs.listActive();

    // VMs outside the policy still get their last activity from runs, for the idle time in `/vm list`.
    const now = this.deps.clock.now();
    const others = Object.keys(this.deps.config.vms).filter((vm) => !vms.includes(vm) && active.some((run) => run.vm === vm));
    await Promise.all(others.map((vm) => this.deps.activity.markActive(vm, now)));
    const results = await Promise.all(
      vms.map(async (vm) => {
        const busyRuns = active.filter((run) => run.vm === vm).length;
        try {
          return [vm, await this.checkVm(vm, busyRuns)] as const;
        } catch (error) {
          this.deps.logger.error({ err: error, vm }, 'auto-stop check failed');
          return [vm, 'failed'] as const;
        }
      }),
    );
    return Object.fromEntries(results);
  }

  /** Applies one step of the policy to `vm`, given the number of active runs on it. */
  async checkVm(vm: string, activeRuns: number): Promise<AutoStopOutcome> {
    const { config, control, activity, clock, logger } = this.deps;
    const policy = config.vms[vm]?.autoStop;
    if (!policy?.enabled || !control.isManaged(vm)) return 'disabled';
    const now = clock.now();

    const power = await control.getPowerState(vm);
    if (power !== 'running') {
      const warning = await activity.takeWarning(vm);
      if (warning) await this.closeWarning(warning, this.t('vm.autostop.cancelled_power', { vm, power: this.t(`vm.power.${power}`) }));
      return 'not_running';
    }

    let sessions = 0;
    if (activeRuns === 0) {
      try {
        sessions = (await probeLoginSessions(await this.deps.hosts.get(vm))).length;
      } catch (error) {
        // NOTE: an unreadable `who` (SSH down, wrong key) is treated as "maybe in use":
        // the VM is neither warned about nor deallocated, so a broken probe never ends
        // someone's interactive work. It keeps billing until SSH works again.
        this.deps.hosts.invalidate(vm);
        logger.warn({ err: error, vm }, 'auto-stop could not list login sessions; skipping this VM');
        return 'unchecked';
      }
    }

    if (activeRuns > 0 || sessions > 0) {
      await activity.markActive(vm, now);
      const warning = await activity.takeWarning(vm);
      if (warning) {
        logger.info({ vm, activeRuns, sessions }, 'auto-stop warning cancelled: VM in use again');
        await this.closeWarning(warning, this.t('vm.autostop.cancelled_busy', { vm }));
      }
      return 'busy';
    }

    const lastActive = await activity.lastActiveAt(vm);
    if (!lastActive) {
      // First sight of this VM (or Redis was emptied): idle time counts from now.
      await activity.markActive(vm, now);
      return 'timer_started';
    }

    const pending = await activity.getWarning(vm);
    if (pending) {
      if (now.getTime() < new Date(pending.deallocateAt).getTime()) return 'waiting';
      return this.deallocateIdle(vm, pending, lastActive);
    }

    const idleMs = now.getTime() - lastActive.getTime();
    if (idleMs < policy.idleMinutes * 60_000) return 'idle';
    return this.warn(vm, lastActive, policy.graceMinutes);
  }

  /** See `keepVmRunning`. */
  keepRunning(vm: string, warningId: string, userId: string): Promise<boolean> {
    return keepVmRunning(this.deps, vm, warningId, userId);
  }

  private async warn(vm: string, lastActive: Date, graceMinutes: number): Promise<AutoStopOutcome> {
    const { activity, chat, clock, config, logger } = this.deps;
    const now = clock.now();
    const deallocateAt = new Date(now.getTime() + graceMinutes * 60_000);
    const warning: AutoStopWarning = {
      id: randomUUID(),
      channel: config.slack.channel,
      ts: '',
      deallocateAt: deallocateAt.toISOString(),
      idleSince: lastActive.toISOString(),
    };
    // Claim first, post second: a second worker checking at the same moment posts nothing.
    if (!(await activity.setWarning(vm, warning))) return 'waiting';

    const text = this.t('vm.autostop.warning', {
      vm,
      idle: formatDuration(now.getTime() - lastActive.getTime(), this.t),
      deadline: format(new TZDate(deallocateAt.getTime(), config.timezone), 'HH:mm'),
    });
    const keep = button(this.t('vm.autostop.keep_button'), VM_KEEP_RUNNING_ACTION, `${vm}:${warning.id}`, { style: 'primary' });
    try {
      const posted = await chat.postMessage({ channel: warning.channel, text, blocks: [section(text), actions([keep])] });
      await activity.replaceWarning(vm, { ...warning, ts: posted.ts });
    } catch (error) {
      // Without a visible warning no one can press the button, so nothing may be deallocated.
      await activity.takeWarning(vm, warning.id);
      throw error;
    }
    logger.info({ vm, deallocateAt: warning.deallocateAt }, 'auto-stop warning posted');
    return 'warned';
  }

  private async deallocateIdle(vm: string, pending: AutoStopWarning, lastActive: Date): Promise<AutoStopOutcome> {
    const { activity, chat, clock, config, control, logger } = this.deps;
    // Taking the warning is the lock: a button press after this point finds nothing to cancel.
    const warning = await activity.takeWarning(vm, pending.id);
    if (!warning) return 'waiting';

    try {
      await control.deallocate(vm, AUTO_STOP_ACTOR);
    } catch (error) {
      const reason = error instanceof AzureVmError ? this.t(error.messageKey, error.messageParams) : (error as Error).message;
      logger.error({ err: error, vm }, 'auto-stop deallocation failed');
      await this.closeWarning(warning, this.t('vm.autostop.failed', { vm, reason }));
      return 'failed';
    }

    const now = clock.now();
    const savings = await weeklySavings(activity, config, vm, now);
    const text = this.t('vm.autostop.deallocated', {
      vm,
      idle: formatDuration(now.getTime() - lastActive.getTime(), this.t),
      hours: formatHours(savings.hours),
      cost: formatSavedCost(savings.cost, this.t),
    });
    logger.info({ vm, hoursSavedThisWeek: savings.hours }, 'VM deallocated by auto-stop');
    await this.closeWarning(warning, text);
    await chat.postMessage({ channel: warning.channel, text });
    return 'deallocated';
  }

  private closeWarning(warning: AutoStopWarning, text: string): Promise<void> {
    return closeWarning(this.deps, warning, text);
  }
}

/**
 * Handles a click on "keep running": cancels the warning `warningId` and restarts the
 * idle timer. Returns false when the warning was already handled (deallocated,
 * cancelled, or pressed by someone else), so the handler can reply that it is stale.
 */
export async function keepVmRunning(
  deps: Pick<AutoStopDeps, 'activity' | 'chat' | 'clock' | 'logger' | 'config'>,
  vm: string,
  warningId: string,
  userId: string,
): Promise<boolean> {
  const warning = await deps.activity.takeWarning(vm, warningId);
  if (!warning) return false;
  await deps.activity.markActive(vm, deps.clock.now());
  deps.logger.info({ vm, userId }, 'auto-stop cancelled with the keep-running button');
  const t = translator(deps.config.locale);
  await closeWarning(deps, warning, t('vm.autostop.kept', { vm, user: userId }));
  return true;
}

/** Replaces the warning message (and its button) with `text`. */
async function closeWarning(deps: Pick<AutoStopDeps, 'chat' | 'logger'>, warning: AutoStopWarning, text: string): Promise<void> {
  if (!warning.ts) return;
  try {
    await deps.chat.updateMessage({ channel: warning.channel, ts: warning.ts }, { text, blocks: [section(text)] });
  } catch (error) {
    deps.logger.warn({ err: error, channel: warning.channel, ts: warning.ts }, 'could not update the auto-stop warning');
  }
}
