/**
 * `VmControl` for VMs without an `azure` section (and `transport: local`): the bot
 * cannot change their power, so they are reported running and never started or stopped.
 */
import type { PowerState, VmControl } from './vm-control.js';

export class AlwaysOnVmControl implements VmControl {
  isManaged(): boolean {
    return false;
  }

  async getPowerState(): Promise<PowerState> {
    return 'running';
  }

  async start(): Promise<void> {}

  async deallocate(vmName: string): Promise<void> {
    throw new RangeError(`VM "${vmName}" has no azure section in the config, so the bot cannot deallocate it`);
  }
}

/**
 * Sends each VM to the control that manages it: `managed` for VMs with an `azure`
 * section, `AlwaysOnVmControl` for the rest. main.ts builds one of these.
 */
export class RoutingVmControl implements VmControl {
  private readonly alwaysOn = new AlwaysOnVmControl();

  constructor(private readonly managed: VmControl | undefined) {}

  private pick(vmName: string): VmControl {
    return this.managed?.isManaged(vmName) ? this.managed : this.alwaysOn;
  }

  isManaged(vmName: string): boolean {
    return this.pick(vmName).isManaged(vmName);
  }

  getPowerState(vmName: string): Promise<PowerState> {
    return this.pick(vmName).getPowerState(vmName);
  }

  start(vmName: string): Promise<void> {
    return this.pick(vmName).start(vmName);
  }

  deallocate(vmName: string): Promise<void> {
    return this.pick(vmName).deallocate(vmName);
  }
}
