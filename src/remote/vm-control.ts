/**
 * Power control of a VM. `AzureVmControl` implements it with @azure/arm-compute; VMs
 * without an `azure` section use `AlwaysOnVmControl`, which reports them running.
 * Azure bills a VM until it is deallocated, so `deallocate` is the only stop offered.
 */
import type { Clock } from '../jobs/clock.js';

export type PowerState = 'running' | 'starting' | 'stopping' | 'stopped' | 'deallocating' | 'deallocated' | 'unknown';

export interface VmControl {
  getPowerState(vmName: string): Promise<PowerState>;
  /**
   * Starts the VM and resolves when Azure reports the operation done. `actor` (a Slack
   * user id, `auto-stop`, `run:<id>`) is recorded by controls that keep a history.
   */
  start(vmName: string, actor?: string): Promise<void>;
  /** Deallocates the VM (stops billing for compute) and resolves when done. */
  deallocate(vmName: string, actor?: string): Promise<void>;
  /** False for VMs without Azure identity: nothing to start or stop. */
  isManaged(vmName: string): boolean;
}

/** States that end by themselves: wait them out instead of failing. */
export const TRANSITIONAL_STATES: readonly PowerState[] = ['starting', 'stopping', 'deallocating'];

export interface EnsureRunningOptions {
  clock: Clock;
  /** Interval between power state reads while a transition is under way, in ms (default 10 s). */
  pollMs?: number;
  /** Maximum wait for the VM, then for SSH, in ms each (default 15 min). */
  timeoutMs?: number;
  /** Called once, just before the start is requested, so the caller can tell people. */
  onStarting?: () => Promise<void> | void;
  /** Resolves once the VM responds (an SSH ping); called until it resolves or the time is up. */
  probeHost?: () => Promise<void>;
}

export interface EnsureRunningResult {
  /** True when this call started the VM. */
  started: boolean;
  /** Milliseconds from the first power state read until the VM was running and responded. */
  elapsedMs: number;
}

/**
 * Makes sure `vmName` is running before work is sent to it: waits out starting,
 * stopping and deallocating, starts a stopped or deallocated VM, then waits until
 * `probeHost` succeeds. VMs the control does not manage are assumed reachable.
 */
export async function ensureVmRunning(control: VmControl, vmName: string, options: EnsureRunningOptions): Promise<EnsureRunningResult> {
  const { clock } = options;
  const pollMs = options.pollMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 15 * 60_000;
  const began = clock.now().getTime();
  if (!control.isManaged(vmName)) return { started: false, elapsedMs: 0 };

  let started = false;
  for (;;) {
    const state = await control.getPowerState(vmName);
    if (state === 'running') break;
    if (state === 'stopped' || state === 'deallocated') {
      await options.onStarting?.();
      await control.start(vmName);
      started = true;
      continue;
    }
    // starting, stopping, deallocating or unknown (a VM being created or updated)
    if (clock.now().getTime() - began > timeoutMs) {
      throw new Error(`VM "${vmName}" stayed ${state} for more than ${Math.round(timeoutMs / 60_000)} min`);
    }
    await clock.sleep(pollMs);
  }

  if (options.probeHost) {
    const probeBegan = clock.now().getTime();
    for (;;) {
      try {
        await options.probeHost();
        break;
      } catch (error) {
        if (clock.now().getTime() - probeBegan > timeoutMs) throw error;
        await clock.sleep(Math.min(pollMs, 5_000));
      }
    }
  }
  return { started, elapsedMs: clock.now().getTime() - began };
}
