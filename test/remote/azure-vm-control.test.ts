import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { vmSchema, type VmConfig } from '../../src/config/schema.js';
import { createAzureCredential } from '../../src/remote/azure-credential.js';
import { AzureVmError } from '../../src/remote/azure-errors.js';
import { AzureVmControl, powerStateFromStatuses } from '../../src/remote/azure-vm-control.js';
import { startFakeArm, staticTestCredential, TEST_TOKEN, type FakeArm } from '../support/fake-arm.js';

function azureVm(vmName: string): VmConfig {
  return vmSchema.parse({
    transport: 'local',
    azure: { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-gpu', vmName },
  });
}

const vms: Record<string, VmConfig> = {
  yanshiyiliao: azureVm('yanshiyiliao'),
  guanzongphi4: azureVm('guanzongphi4'),
  xunlian: azureVm('xunlian-azure'),
  local: vmSchema.parse({ transport: 'local' }),
};

describe('AzureVmControl against the fake ARM', () => {
  let arm: FakeArm;
  let control: AzureVmControl;

  beforeAll(async () => {
    arm = await startFakeArm({ pollsPerOperation: 3 });
    control = new AzureVmControl({
      vms,
      credential: staticTestCredential(),
      endpoint: arm.url,
      trustedCa: arm.ca,
      pollIntervalMs: 10,
      maxRetries: 0,
    });
  });

  afterAll(async () => {
    await arm.stop();
  });

  it('reads the power state from the instance view', async () => {
    arm.addVm('guanzongphi4', 'deallocated');
    expect(await control.getPowerState('guanzongphi4')).toBe('deallocated');

    arm.setPowerState('guanzongphi4', 'running');
    expect(await control.getPowerState('guanzongphi4')).toBe('running');

    const request = arm.requests.find((entry) => entry.vm === 'guanzongphi4');
    expect(request?.authorization).toBe(`Bearer ${TEST_TOKEN}`);
    expect(request?.path).toBe(
      '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-gpu/providers/Microsoft.Compute/virtualMachines/guanzongphi4/instanceView',
    );
  });

  it('uses the Azure name of the VM', async () => {
    arm.addVm('xunlian-azure', 'stopped');
    expect(await control.getPowerState('xunlian')).toBe('stopped');
  });

  it('start waits for the long-running operation', async () => {
    arm.addVm('yanshiyiliao', 'deallocated');
    const before = arm.requests.length;

    await control.start('yanshiyiliao');

    expect(arm.powerState('yanshiyiliao')).toBe('running');
    const polls = arm.requests.slice(before).filter((entry) => entry.operation === 'poll');
    expect(polls.length).toBeGreaterThanOrEqual(3);
    expect(await control.getPowerState('yanshiyiliao')).toBe('running');
  });

  it('deallocate waits for the long-running operation', async () => {
    arm.setPowerState('yanshiyiliao', 'running');
    await control.deallocate('yanshiyiliao');
    expect(arm.powerState('yanshiyiliao')).toBe('deallocated');
  });

  it('isManaged only for VMs with azure', () => {
    expect(control.isManaged('yanshiyiliao')).toBe(true);
    expect(control.isManaged('local')).toBe(false);
    expect(control.isManaged('nosuchvm')).toBe(false);
  });

  it('VM without azure is rejected', async () => {
    const error = await control.getPowerState('local').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RangeError);
  });

  it('404 becomes not_found', async () => {
    const missing = new AzureVmControl({
      vms: { ghost: azureVm('ghost') },
      credential: staticTestCredential(),
      endpoint: arm.url,
      trustedCa: arm.ca,
      maxRetries: 0,
    });
    const notFound = await missing.getPowerState('ghost').catch((caught: unknown) => caught);
    expect(notFound).toBeInstanceOf(AzureVmError);
    expect((notFound as AzureVmError).kind).toBe('not_found');
    expect((notFound as AzureVmError).target.resourceGroup).toBe('rg-gpu');
  });

  it('403 becomes authorization_failed', async () => {
    arm.fail('guanzongphi4', { status: 403, times: 1 });
    const error = (await control.getPowerState('guanzongphi4').catch((caught: unknown) => caught)) as AzureVmError;
    expect(error.kind).toBe('authorization_failed');
    expect(error.extra.azureCode).toBe('AuthorizationFailed');
  });

  it('409 quota becomes quota_exceeded', async () => {
    arm.setPowerState('guanzongphi4', 'deallocated');
    arm.fail('guanzongphi4', {
      status: 409,
      code: 'OperationNotAllowed',
      message: 'Operation could not be completed as it results in exceeding approved standardNCADSH100v5Family Cores quota.',
      operations: ['start'],
      times: 1,
    });
    const error = (await control.start('guanzongphi4').catch((caught: unknown) => caught)) as AzureVmError;
    expect(error.kind).toBe('quota_exceeded');
    expect(error.operation).toBe('start');
  });

  it('failed operation becomes allocation_failed', async () => {
    arm.setPowerState('guanzongphi4', 'deallocated');
    arm.failNextOperation('guanzongphi4', 'AllocationFailed');
    const error = (await control.start('guanzongphi4').catch((caught: unknown) => caught)) as AzureVmError;
    expect(error).toBeInstanceOf(AzureVmError);
    expect(error.kind).toBe('allocation_failed');
    expect(error.extra.azureCode).toBe('AllocationFailed');
  });

  it('persistent 429 becomes throttled with Retry-After', async () => {
    arm.fail('guanzongphi4', { status: 429, retryAfterSeconds: 17, times: 1 });
    const error = (await control.getPowerState('guanzongphi4').catch((caught: unknown) => caught)) as AzureVmError;
    expect(error.kind).toBe('throttled');
    expect(error.extra.retryAfterSeconds).toBe(17);
  });

  it('one 429 is retried after Retry-After', async () => {
    const retrying = new AzureVmControl({ vms, credential: staticTestCredential(), endpoint: arm.url, trustedCa: arm.ca, pollIntervalMs: 10 });
    arm.setPowerState('guanzongphi4', 'running');
    arm.fail('guanzongphi4', { status: 429, retryAfterSeconds: 1, times: 1 });
    const before = arm.requests.length;

    expect(await retrying.getPowerState('guanzongphi4')).toBe('running');

    const statuses = arm.requests.slice(before).map((entry) => entry.status);
    expect(statuses).toEqual([429, 200]);
  });

  it('credential failure becomes credential_unavailable', async () => {
    const neverAnswers = { getToken: () => new Promise<null>(() => {}) };
    const stuck = new AzureVmControl({
      vms,
      credential: createAzureCredential({}, { inner: neverAnswers, tokenTimeoutMs: 50 }),
      endpoint: arm.url,
      trustedCa: arm.ca,
      maxRetries: 0,
    });
    const error = (await stuck.getPowerState('guanzongphi4').catch((caught: unknown) => caught)) as AzureVmError;
    expect(error).toBeInstanceOf(AzureVmError);
    expect(error.kind).toBe('credential_unavailable');
    expect(error.message).toContain('AZURE_CLIENT_SECRET');
  });
});

describe('powerStateFromStatuses', () => {
  it.each([
    [[{ code: 'ProvisioningState/succeeded' }, { code: 'PowerState/running' }], 'running'],
    [[{ code: 'PowerState/deallocating' }], 'deallocating'],
    [[{ code: 'PowerState/Stopped' }], 'stopped'],
    [[{ code: 'ProvisioningState/updating' }], 'unknown'],
    [undefined, 'unknown'],
    [[{ code: 'PowerState/hibernated' }], 'unknown'],
  ])('%j -> %s', (statuses, expected) => {
    expect(powerStateFromStatuses(statuses)).toBe(expected);
  });
});
