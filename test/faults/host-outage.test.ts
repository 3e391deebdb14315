/**
 * Host outages end to end: the VM's SSH port goes away (a TCP relay in front of the test
 * sshd is taken down), briefly or past `runs.lostAfterSeconds`, and the fake Azure
 * reports the VM deallocated mid-run.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { AUTO_RESTART_ACTOR } from '../../src/jobs/restart-policy.js';
import { RoutingVmControl } from '../../src/remote/always-on-vm-control.js';
import { AzureVmControl } from '../../src/remote/azure-vm-control.js';
import { startFakeArm, staticTestCredential, type FakeArm } from '../support/fake-arm.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { countLaunches, createRun, faultConfig, ONCALL, readEvents, runDirOn, startFaultRuntime, threadReplies, waitForRun } from './fault-harness.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/** Each case starts the trainer once or twice, which can take minutes on a busy machine, beyond vitest's 120 s default. */
const FAULT_TEST_TIMEOUT_MS = 300_000;

describe('host outages', () => {
  let redis: TestRedis;
  let sshd: TestSshd;
  let slack: FakeSlack;
  let arm: FakeArm;
  let proxy: TcpProxy;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    [redis, sshd, slack, arm] = await Promise.all([startRedis(), startSshd(), startFakeSlack(), startFakeArm({ pollsPerOperation: 2 })]);
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), sshd?.stop(), slack?.stop(), arm?.stop()]);
  });

  async function proxied(): Promise<TcpProxy> {
    proxy = await startTcpProxy(sshd.port);
    cleanups.push(() => proxy.stop());
    return proxy;
  }

  it('marks a run lost after the limit', async () => {
    await proxied();
    const config = faultConfig({ redis, sshd, sshPort: proxy.port, lostAfterSeconds: 3, restart: { retryOn: [] } });
    const { runtime, close } = startFaultRuntime(config, redis, slack);
    cleanups.push(close);
    const run = await createRun(runtime, 'gpu1');
    runtime.startWorkers();

    await waitForRun(runtime, run.id, (current) => (current.step ?? 0) >= 2);
    await proxy.down();
    const ended = await waitForRun(runtime, run.id, (current) => current.status === 'lost');
    await slack.waitFor(() => threadReplies(slack, run).some((text) => ONCALL.some((id) => text.includes(`<@${id}>`))), 30_000);
    await proxy.up();

    expect(ended.failureClass).toBe('unreachable');
    const replies = threadReplies(slack, run);
    expect(replies.filter((text) => text.includes('连接中断，正在重连'))).toHaveLength(1);
    expect(replies.find((text) => text.includes('第 1 次尝试失联'))).toContain('主机连接不上');
  }, FAULT_TEST_TIMEOUT_MS);

  it('posts no failure for a short outage', async () => {
    await proxied();
    const config = faultConfig({ redis, sshd, sshPort: proxy.port, lostAfterSeconds: 20 });
    const { runtime, close } = startFaultRuntime(config, redis, slack);
    cleanups.push(close);
    const run = await createRun(runtime, 'gpu1');
    runtime.startWorkers();

    await waitForRun(runtime, run.id, (current) => (current.step ?? 0) >= 2);
    await proxy.down();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await proxy.up();
    const ended = await waitForRun(runtime, run.id, (current) => ['succeeded', 'failed', 'lost', 'cancelled'].includes(current.status));

    expect(ended.status).toBe('succeeded');
    expect(ended.attempt).toBe(1);
    expect(ended.failureClass).toBeUndefined();
    const replies = threadReplies(slack, run);
    expect(replies.some((text) => text.includes('次尝试失败') || text.includes('次尝试失联'))).toBe(false);
    expect(replies.some((text) => ONCALL.some((id) => text.includes(`<@${id}>`)))).toBe(false);
    expect(await countLaunches(config, 'gpu1', run.id)).toBe(1);
  }, FAULT_TEST_TIMEOUT_MS);

  it('stops a lost trainer before the restart', async () => {
    await proxied();
    // The trainer outlives the outage: 60 steps take longer than the outage and the limit.
    const config = faultConfig({ redis, sshd, sshPort: proxy.port, lostAfterSeconds: 3, restart: { waitSeconds: 2 }, hyperparameters: { max_steps: 60 } });
    const { runtime, close } = startFaultRuntime(config, redis, slack);
    cleanups.push(close);
    const run = await createRun(runtime, 'gpu1');
    runtime.startWorkers();

    const checkpointed = await waitForRun(runtime, run.id, (current) => (current.lastCheckpoint?.step ?? 0) >= 5);
    await proxy.down();
    await waitForRun(runtime, run.id, (current) => current.attempt === 2);
    await proxy.up();
    const ended = await waitForRun(runtime, run.id, (current) => current.attempt === 2 && ['succeeded', 'failed', 'lost'].includes(current.status));

    expect(ended.status).toBe('succeeded');
    expect(ended.attempts[0]?.failureClass).toBe('unreachable');
    expect(await countLaunches(config, 'gpu1', run.id)).toBe(2);

    // The first trainer was stopped (its `end` is `interrupted`) before the second started.
    const events = await readEvents(config, 'gpu1', run.id);
    const starts = events.flatMap((event, index) => (event.type === 'start' ? [index] : []));
    expect(starts).toHaveLength(2);
    const firstEnd = events.slice(0, starts[1]).filter((event) => event.type === 'end');
    expect(firstEnd.map((event) => event.error?.type)).toEqual(['interrupted']);
    const resumeStep = Number(/checkpoint-(\d+)$/.exec(ended.attempts[1]?.resumedFrom ?? '')?.[1]);
    expect(resumeStep).toBeGreaterThanOrEqual(checkpointed.lastCheckpoint!.step);
    expect(events.slice(starts[1]).find((event) => event.type === 'step')?.step).toBe(resumeStep + 1);
    expect(ended.step).toBe(60);
  }, FAULT_TEST_TIMEOUT_MS);

  it('starts an evicted VM, then resumes', async () => {
    await proxied();
    const vmName = uniquePrefix('gpu');
    arm.addVm(vmName, 'running');
    const config = faultConfig({ redis, sshd, vmName, azure: true, sshPort: proxy.port, lostAfterSeconds: 3 });
    const vmControl = new RoutingVmControl(
      new AzureVmControl({ vms: config.vms, credential: staticTestCredential(), endpoint: arm.url, trustedCa: arm.ca, pollIntervalMs: 20 }),
    );
    const { runtime, close } = startFaultRuntime(config, redis, slack, vmControl);
    cleanups.push(close);
    const run = await createRun(runtime, vmName);
    runtime.startWorkers();

    const checkpointed = await waitForRun(runtime, run.id, (current) => (current.lastCheckpoint?.step ?? 0) >= 5);
    // An eviction: Azure deallocates the VM, every process on it dies without an exit
    // code, and its SSH port goes away.
    arm.setPowerState(vmName, 'deallocated');
    const wrapperPid = Number((await readFile(path.join(runDirOn(config, vmName, run.id), 'pid'), 'utf8')).trim());
    process.kill(-wrapperPid, 'SIGKILL');
    await proxy.down();

    await waitForRun(runtime, run.id, (current) => current.attempt === 2);
    await waitForPowerState(arm, vmName, 'running');
    await proxy.up();
    const ended = await waitForRun(runtime, run.id, (current) => current.attempt === 2 && ['succeeded', 'failed', 'lost'].includes(current.status));

    expect(ended.status).toBe('succeeded');
    expect(ended.attempts[0]?.failureClass).toBe('evicted');
    expect(ended.attempts[1]?.startedBy).toBe(AUTO_RESTART_ACTOR);
    const operations = arm.requests.filter((request) => request.vm === vmName && request.operation === 'start');
    expect(operations).toHaveLength(1);

    const resumeStep = Number(/checkpoint-(\d+)$/.exec(ended.attempts[1]?.resumedFrom ?? '')?.[1]);
    expect(resumeStep).toBeGreaterThanOrEqual(checkpointed.lastCheckpoint!.step);
    const events = await readEvents(config, vmName, run.id);
    const secondStart = events.findLastIndex((event) => event.type === 'start');
    expect(events[secondStart]?.resumed_from).toMatch(new RegExp(`checkpoint-${resumeStep}$`));
    expect(events.slice(secondStart).find((event) => event.type === 'step')?.step).toBe(resumeStep + 1);

    const replies = threadReplies(slack, run);
    expect(replies.find((text) => text.includes('第 1 次尝试失联'))).toContain('虚拟机已被释放或逐出');
    const startNotice = replies.findIndex((text) => text.includes(`虚拟机 \`${vmName}\` 已被释放，先启动它再恢复`));
    const resumeNotice = replies.findIndex((text) => text.includes(`的检查点 checkpoint-${resumeStep} 恢复`));
    expect(startNotice).toBeGreaterThanOrEqual(0);
    expect(resumeNotice).toBeGreaterThan(startNotice);
  }, FAULT_TEST_TIMEOUT_MS);
});

async function waitForPowerState(arm: FakeArm, vmName: string, state: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (arm.powerState(vmName) !== state) {
    if (Date.now() > deadline) throw new Error(`VM ${vmName} still ${arm.powerState(vmName)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
