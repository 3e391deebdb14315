/**
 * Power control of a VM. `AzureVmControl` implements it with @azure/arm-compute; VMs
 * without an `azure` section use `AlwaysOnVmControl`, which reports them running.
 * Azure bills a VM until it is deallocated, so `deallocate` is the only stop offered.
 */
export type PowerState = 'running' | 'starting' | 'stopping' | 'stopped' | 'deallocating' | 'deallocated' | 'unknown';

export interface VmControl {
  getPowerState(vmName: string): Promise<PowerState>;
  /** Starts the VM and resolves when Azure reports the operation done. */
  start(vmName: string): Promise<void>;
  /** Deallocates the VM (stops billing for compute) and resolves when done. */
  deallocate(vmName: string): Promise<void>;
  /** False for VMs without Azure identity: nothing to start or stop. */
  isManaged(vmName: string): boolean;
}
