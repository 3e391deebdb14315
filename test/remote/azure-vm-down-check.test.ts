import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { vmSchema } from '../../src/config/schema.js';
import { AzureVmControl } from '../../src/remote/azure-vm-control.js';
import { createVmDownCheck } from '../../src/remote/vm-down-check.js';
import { startFakeArm, staticTestCredential, type FakeArm } from '../support/fake-arm.js';

describe('createVmDownCheck', () => {
  let arm: FakeArm;
  let control: AzureVmControl;

  beforeAll(async () => {
    arm = await startFakeArm();
    const vm = (vmName: string) =>
      vmSchema.parse({ transport: 'local', azure: { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-gpu', vmName } });
    control = new AzureVmControl({
      vms: { yanshi: vm('yanshi'), broken: vm('broken'), local: vmSchema.parse({ transport: 'local' }) },
      credential: staticTestCredential(),
      endpoint: arm.url,
      trustedCa: arm.ca,
      maxRetries: 0,
    });
  });

  afterAll(async () => {
    await arm.stop();
  });

  it('reports a deallocated VM', async () => {
    arm.addVm('yanshi', 'deallocated');
    expect(await createVmDownCheck(control, 'yanshi', { minIntervalMs: 0 })()).toBe('deallocated');
  });

  it('ignores a running VM', async () => {
    arm.addVm('yanshi', 'running');
    expect(await createVmDownCheck(control, 'yanshi', { minIntervalMs: 0 })()).toBeUndefined();
  });

  it('reads Azure at most once per interval', async () => {
    arm.addVm('yanshi', 'running');
    let time = 0;
    const check = createVmDownCheck(control, 'yanshi', { minIntervalMs: 1000, now: () => time });

    expect(await check()).toBeUndefined();
    arm.setPowerState('yanshi', 'stopped');
    time = 999;
    expect(await check()).toBeUndefined();
    time = 1000;
    expect(await check()).toBe('stopped');
  });

  it('swallows Azure errors', async () => {
    arm.addVm('broken', 'deallocated');
    arm.fail('broken', { status: 403 });
    expect(await createVmDownCheck(control, 'broken', { minIntervalMs: 0 })()).toBeUndefined();
  });

  it('ignores unmanaged VMs', async () => {
    expect(await createVmDownCheck(control, 'local', { minIntervalMs: 0 })()).toBeUndefined();
  });
});
