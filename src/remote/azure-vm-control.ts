/**
 * `VmControl` over Azure Resource Manager with @azure/arm-compute. One
 * ComputeManagementClient per subscription; the VM's power state comes from its
 * instance view (`PowerState/<state>` status code). Start and deallocate are
 * long-running operations: the promise resolves when the SDK's poller reports them done.
 * Every failure is rethrown as an AzureVmError (src/remote/azure-errors.ts).
 */
import { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';
import type { Logger } from 'pino';

import type { VmConfig } from '../config/schema.js';
import { toAzureVmError, type AzureOperation, type AzureVmTarget } from './azure-errors.js';
import type { PowerState, VmControl } from './vm-control.js';

export interface AzureVmControlOptions {
  /** The config's `vms`; only those with an `azure` section are managed. */
  vms: Readonly<Record<string, VmConfig>>;
  credential: TokenCredential;
  /** Base URL of Azure Resource Manager (default the public cloud); tests point it at a fake. */
  endpoint?: string;
  /** Extra CA certificates to trust (PEM), for a fake ARM server with a self-signed certificate. */
  trustedCa?: string | Buffer;
  /** Interval between polls of a long-running operation, in ms (default: the SDK's, or Retry-After). */
  pollIntervalMs?: number;
  /** Retries of throttled (429) and transient responses before giving up (default: the SDK's, 3). */
  maxRetries?: number;
  logger?: Logger;
}

const POWER_STATES: Readonly<Record<string, PowerState>> = {
  running: 'running',
  starting: 'starting',
  stopping: 'stopping',
  stopped: 'stopped',
  deallocating: 'deallocating',
  deallocated: 'deallocated',
};

export class AzureVmControl implements VmControl {
  private readonly clients = new Map<string, ComputeManagementClient>();

  constructor(private readonly options: AzureVmControlOptions) {}

  isManaged(vmName: string): boolean {
    return this.options.vms[vmName]?.azure !== undefined;
  }

  async getPowerState(vmName: string): Promise<PowerState> {
    const target = this.target(vmName);
    const view = await this.call(target, 'instance_view', (client) =>
      client.virtualMachines.instanceView(target.resourceGroup, target.azureName),
    );
    return powerStateFromStatuses(view.statuses);
  }

  async start(vmName: string): Promise<void> {
    const target = this.target(vmName);
    this.options.logger?.info({ vm: vmName }, 'starting Azure VM');
    await this.call(target, 'start', (client) =>
      client.virtualMachines.start(target.resourceGroup, target.azureName, { updateIntervalInMs: this.options.pollIntervalMs }).pollUntilDone(),
    );
    this.options.logger?.info({ vm: vmName }, 'Azure VM started');
  }

  async deallocate(vmName: string): Promise<void> {
    const target = this.target(vmName);
    this.options.logger?.info({ vm: vmName }, 'deallocating Azure VM');
    await this.call(target, 'deallocate', (client) =>
      client.virtualMachines.deallocate(target.resourceGroup, target.azureName, { updateIntervalInMs: this.options.pollIntervalMs }).pollUntilDone(),
    );
    this.options.logger?.info({ vm: vmName }, 'Azure VM deallocated');
  }

  private target(vmName: string): AzureVmTarget {
    const azure = this.options.vms[vmName]?.azure;
    if (!azure) {
      throw new RangeError(`VM "${vmName}" has no azure section in the config; check isManaged() first`);
    }
    return { vmName, subscriptionId: azure.subscriptionId, resourceGroup: azure.resourceGroup, azureName: azure.vmName };
  }

  private async call<T>(target: AzureVmTarget, operation: AzureOperation, action: (client: ComputeManagementClient) => Promise<T>): Promise<T> {
    try {
      return await action(this.client(target.subscriptionId));
    } catch (error) {
      const converted = toAzureVmError(error, target, operation);
      this.options.logger?.warn({ vm: target.vmName, operation, kind: converted.kind, err: converted }, 'Azure call failed');
      throw converted;
    }
  }

  private client(subscriptionId: string): ComputeManagementClient {
    let client = this.clients.get(subscriptionId);
    if (!client) {
      client = new ComputeManagementClient(this.options.credential, subscriptionId, {
        ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
        ...(this.options.trustedCa ? { tlsOptions: { ca: this.options.trustedCa } } : {}),
        ...(this.options.maxRetries !== undefined ? { retryOptions: { maxRetries: this.options.maxRetries } } : {}),
      });
      this.clients.set(subscriptionId, client);
    }
    return client;
  }
}

/** Reads the power state from instance view statuses such as `PowerState/deallocated`. */
export function powerStateFromStatuses(statuses: ReadonlyArray<{ code?: string }> | undefined): PowerState {
  const code = statuses?.find((status) => status.code?.startsWith('PowerState/'))?.code;
  if (!code) return 'unknown';
  return POWER_STATES[code.slice('PowerState/'.length).toLowerCase()] ?? 'unknown';
}
