/**
 * Tells a run follower whether an unreachable host is a VM that Azure has stopped
 * (a spot eviction, or someone deallocating it in the portal) rather than a network
 * problem. Such a run will not come back by waiting, so the follower can mark it lost
 * at once instead of after `runs.lostAfterSeconds`, and the on-call restart path can
 * start the VM and resume from the last checkpoint.
 *
 *   const vmDown = createVmDownCheck(vmControl, run.vm, { logger });
 *   onUnreachable: async () => { const state = await vmDown(); if (state) stopFollowing(state); }
 */
import type { Logger } from 'pino';

import type { PowerState, VmControl } from './vm-control.js';

/** Power states in which the VM runs nothing: whatever was running on it is gone. */
export const DOWN_POWER_STATES: readonly PowerState[] = ['deallocated', 'deallocating', 'stopped', 'stopping'];

export interface VmDownCheckOptions {
  /** Minimum milliseconds between two Azure reads (default 30 s), to stay clear of ARM throttling. */
  minIntervalMs?: number;
  /** Clock in ms, for tests. Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

/**
 * Returns a function that resolves with the power state when the VM is down, and with
 * undefined when it is running, not managed, or its state could not be read. An Azure
 * error is logged, not thrown, because the follower must keep retrying the host.
 */
export function createVmDownCheck(control: VmControl, vmName: string, options: VmDownCheckOptions = {}): () => Promise<PowerState | undefined> {
  const minIntervalMs = options.minIntervalMs ?? 30_000;
  const now = options.now ?? Date.now;
  let lastReadAt: number | undefined;

  return async () => {
    if (!control.isManaged(vmName)) return undefined;
    if (lastReadAt !== undefined && now() - lastReadAt < minIntervalMs) return undefined;
    lastReadAt = now();

    try {
      const state = await control.getPowerState(vmName);
      if (DOWN_POWER_STATES.includes(state)) {
        options.logger?.warn({ vm: vmName, powerState: state }, 'host unreachable and the VM is down in Azure');
        return state;
      }
      return undefined;
    } catch (error) {
      options.logger?.warn({ err: error, vm: vmName }, 'could not read the power state of an unreachable VM');
      return undefined;
    }
  };
}
