import type { Translate } from '../bot/i18n.js';
import type { Config, VmConfig } from '../config/schema.js';
import type { VmActivityStore } from '../jobs/vm-activity.js';
import { AzureVmError } from '../remote/azure-errors.js';
import { HostUnreachableError } from '../remote/errors.js';
import type { HostProvider } from '../remote/host.js';
import type { VmControl } from '../remote/vm-control.js';
import { findMember, hasRole, namesWithRole, type Permission } from './permissions.js';

/**
 * The ports `/vm` and the VM buttons need. main.ts fills `deps.vm` with a
 * `RecordingVmControl` over `RoutingVmControl(AzureVmControl)`, the activity store and
 * the host pool; without it `/vm` replies that the feature is not configured.
 */
export interface VmPorts {
  readonly control: VmControl;
  readonly activity: VmActivityStore;
  readonly hosts: HostProvider;
  /** Interval between power state reads while waiting for a transition, in ms (default 10 s). */
  readonly pollMs?: number;
}

declare module './deps.js' {
  interface HandlerDeps {
    readonly vm?: VmPorts;
  }
}

/** Allows the VM's `owner` and admins; for anyone else the denial names who may deallocate it. */
export function checkVmStop(config: Config, userId: string, vmName: string): Permission {
  const member = findMember(config, userId);
  const vm: VmConfig | undefined = config.vms[vmName];
  const ownerName = vm?.owner ? (findMember(config, vm.owner)?.name ?? vm.owner) : undefined;
  const who = [ownerName, namesWithRole(config, ['admin'])].filter((name) => name !== undefined).join('、');

  if (!member) return { allowed: false, key: 'core.denied.not_member', params: { who: namesWithRole(config, ['admin']) } };
  if (userId === vm?.owner || hasRole(member, ['admin'])) return { allowed: true, member };
  return { allowed: false, key: 'vm.stop.denied', params: { who } };
}

/**
 * Translates a failure of a VM operation into text for the person: the Azure error
 * message in their locale, or the unreachable host. Other errors are programming or
 * infrastructure faults and return undefined, so the caller rethrows them.
 */
export function describeVmFailure(error: unknown, t: Translate): string | undefined {
  if (error instanceof AzureVmError) return t(error.messageKey, error.messageParams);
  if (error instanceof HostUnreachableError) return t('vm.status.unreachable', { vm: error.vmName, reason: error.message });
  return undefined;
}
