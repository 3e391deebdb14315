import pino from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

import { AutoStopper, VM_KEEP_RUNNING_ACTION } from '../../src/jobs/auto-stop.js';
import { startAutoStopScheduler } from '../../src/jobs/auto-stop-scheduler.js';
import { uniquePrefix } from '../support/redis.js';
import { CHANNEL, MEMBER, startVmWorld, stopSharedRedis, type VmWorld } from '../commands/vm-helpers.js';

const MINUTE = 60_000;

function stopperFor(world: VmWorld): AutoStopper {
  return new AutoStopper({
    config: world.config,
    control: world.ports.control,
    activity: world.activity,
    runs: world.runStore,
    hosts: world.ports.hosts,
    chat: world.chat,
    clock: world.clock,
    logger: pino({ level: 'silent' }),
  });
}

/** Returns the keep-running button value of the last warning posted. */
function keepButtonValue(world: VmWorld): string {
  const warning = world.chat.posted.at(-1)!;
  const json = JSON.stringify(warning.blocks);
  const match = /"action_id":"vm_keep_running","value":"([^"]+)"/.exec(json);
  if (!match) throw new Error(`no keep-running button in ${json}`);
  return match[1]!;
}

describe('AutoStopper', () => {
  let world: VmWorld;
  let stopper: AutoStopper;

  beforeEach(async () => {
    world = await startVmWorld();
    stopper = stopperFor(world);
    world.arm.addVm('yanshiyiliao', 'running');
    world.arm.addVm('xunlian', 'deallocated');
  });

  afterEach(async () => {
    await world.stop();
  });

  afterAll(async () => {
    await stopSharedRedis();
  });

  it('applies only to enabled Azure VMs', () => {
    expect(stopper.eligibleVms()).toEqual(['yanshiyiliao', 'xunlian']);
  });

  it('starts the idle timer on first sight', async () => {
    expect(await stopper.checkVm('yanshiyiliao', 0)).toBe('timer_started');
    expect(await world.activity.lastActiveAt('yanshiyiliao')).toEqual(world.clock.now());
  });

  it('warns after the idle minutes', async () => {
    await stopper.checkVm('yanshiyiliao', 0);
    world.clock.advance(59 * MINUTE);
    expect(await stopper.checkVm('yanshiyiliao', 0)).toBe('idle');
    expect(world.chat.posted).toHaveLength(0);

    world.clock.advance(1 * MINUTE);
    expect(await stopper.checkVm('yanshiyiliao', 0)).toBe('warned');

    const warning = world.chat.posted[0]!;
    expect(warning.channel).toBe(CHANNEL);
    expect(warning.text).toContain('虚拟机 *yanshiyiliao* 已空闲 1 小时 0 分');
    // 10:00 Shanghai + 60 idle minutes + 10 grace minutes.
    expect(warning.text).toContain('将在 11:10 自动释放');
    expect(JSON.stringify(warning.blocks)).toContain(VM_KEEP_RUNNING_ACTION);
    expect(await stopper.checkVm('yanshiyiliao', 0)).toBe('waiting');
    expect(world.chat.posted).toHaveLength(1);
  });

  it('keep running cancels the deallocation', async () => {
    await stopper.checkVm('yanshiyiliao', 0);
    world.clock.advance(60 * MINUTE);
    await stopper.checkVm('yanshiyiliao', 0);
    const [vm, warningId] = keepButtonValue(world).split(':');

    expect(await stopper.keepRunning(vm!, warningId!, MEMBER)).toBe(true);
    expect(world.chat.updated.at(-1)?.text).toBe(`✅ <@${MEMBER}> 让 *yanshiyiliao* 保持运行，空闲计时重新开始。`);
    expect(await stopper.keepRunning(vm!, warningId!, MEMBER)).toBe(false);

    world.clock.advance(10 * MINUTE);
    expect(await stopper.checkVm('yanshiyiliao', 0)).toBe('idle');
    expect(world.arm.powerState('yanshiyiliao')).toBe('running');
  });

  it('deallocates after the grace period', async () => {
    // Deallocated from Monday 00:00 to 08:00 this week: 8 hours saved already.
    await world.activity.recordPowerEvent('yanshiyiliao', { kind: 'deallocated', at: new Date('2026-12-06T20:00:00+08:00'), by: 'test' });
    await world.activity.recordPowerEvent('yanshiyiliao', { kind: 'started', at: new Date('2026-12-07T08:00:00+08:00'), by: 'test' });
    await stopper.checkVm('yanshiyiliao', 0);
    world.clock.advance(60 * MINUTE);
    await stopper.checkVm('yanshiyiliao', 0);
    const [vm, warningId] = keepButtonValue(world).split(':');

    world.clock.advance(9 * MINUTE);
    expect(await stopper.checkVm('yanshiyiliao', 0)).toBe('waiting');
    world.clock.advance(1 * MINUTE);
    expect(await stopper.checkVm('yanshiyiliao', 0)).toBe('deallocated');

    expect(world.arm.powerState('yanshiyiliao')).toBe('deallocated');
    const announcement = world.chat.posted.at(-1)!;
    expect(announcement.text).toContain('虚拟机 *yanshiyiliao* 空闲 1 小时 10 分 后已自动释放');
    expect(announcement.text).toContain('本周已节省 8.0 小时（约 240.00）');
    expect(world.chat.updated.at(-1)?.text).toBe(announcement.text);
    expect(await stopper.keepRunning(vm!, warningId!, MEMBER)).toBe(false);

    world.clock.advance(3 * 60 * MINUTE);
    expect(await stopper.checkVm('yanshiyiliao', 0)).toBe('not_running');
    const events = await world.activity.powerEvents('yanshiyiliao', new Date('2026-12-07T00:00:00+08:00'), world.clock.now());
    expect(events.events.at(-1)?.by).toBe('auto-stop');
  });

  it('a run cancels the warning', async () => {
    await stopper.checkVm('yanshiyiliao', 0);
    world.clock.advance(60 * MINUTE);
    await stopper.checkVm('yanshiyiliao', 0);
    await world.runStore.create({ kind: 'train', recipe: 'medical-phi4', vm: 'yanshiyiliao', userId: MEMBER, channel: CHANNEL, overrides: {} });

    world.clock.advance(10 * MINUTE);
    const outcomes = await stopper.checkAll();

    expect(outcomes.yanshiyiliao).toBe('busy');
    expect(outcomes.xunlian).toBe('not_running');
    expect(world.arm.powerState('yanshiyiliao')).toBe('running');
    expect(world.chat.updated.at(-1)?.text).toContain('又开始使用了');
    expect(await world.activity.lastActiveAt('yanshiyiliao')).toEqual(world.clock.now());
  });

  it('runs mark VMs outside the policy active', async () => {
    await world.runStore.create({ kind: 'train', recipe: 'medical-phi4', vm: 'yanshi', userId: MEMBER, channel: CHANNEL, overrides: {} });

    const outcomes = await stopper.checkAll();

    expect(outcomes.yanshi).toBeUndefined();
    expect(await world.activity.lastActiveAt('yanshi')).toEqual(world.clock.now());
    expect(await world.activity.lastActiveAt('local')).toBeUndefined();
  });

  it('failed deallocation is announced', async () => {
    await stopper.checkVm('yanshiyiliao', 0);
    world.clock.advance(60 * MINUTE);
    await stopper.checkVm('yanshiyiliao', 0);
    world.arm.fail('yanshiyiliao', { status: 403, operations: ['deallocate'] });

    world.clock.advance(10 * MINUTE);
    expect(await stopper.checkVm('yanshiyiliao', 0)).toBe('failed');

    expect(world.arm.powerState('yanshiyiliao')).toBe('running');
    expect(world.chat.updated.at(-1)?.text).toContain('自动释放 *yanshiyiliao* 失败');
    expect(world.chat.updated.at(-1)?.text).toContain('Virtual Machine Contributor');
  });

  it('a deallocated VM closes the warning', async () => {
    await stopper.checkVm('yanshiyiliao', 0);
    world.clock.advance(60 * MINUTE);
    await stopper.checkVm('yanshiyiliao', 0);
    world.arm.setPowerState('yanshiyiliao', 'deallocated');

    expect(await stopper.checkVm('yanshiyiliao', 0)).toBe('not_running');
    expect(world.chat.updated.at(-1)?.text).toContain('已经不在运行状态');
    expect(await world.activity.getWarning('yanshiyiliao')).toBeUndefined();
  });
});

describe('auto-stop scheduler', () => {
  afterAll(async () => {
    await stopSharedRedis();
  });

  it('runs the check on a job scheduler', async () => {
    const world = await startVmWorld();
    world.arm.addVm('yanshiyiliao', 'running');
    world.arm.addVm('xunlian', 'running');
    const stopper = stopperFor(world);
    // Both VMs have been idle for hours, so the first scheduled check warns.
    await world.activity.markActive('yanshiyiliao', new Date(world.clock.now().getTime() - 5 * 60 * MINUTE));
    await world.activity.markActive('xunlian', new Date(world.clock.now().getTime() - 5 * 60 * MINUTE));

    const scheduler = await startAutoStopScheduler({
      connection: world.redis,
      prefix: uniquePrefix('bull'),
      queueName: uniquePrefix('auto-stop'),
      stopper,
      logger: pino({ level: 'silent' }),
      everyMs: 100,
    });
    try {
      const deadline = Date.now() + 20_000;
      while (world.chat.posted.length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const warned = world.chat.posted.map((message) => /\*(\w+)\*/.exec(message.text)?.[1]).sort();
      expect(warned).toEqual(['xunlian', 'yanshiyiliao']);
      expect(await scheduler.queue.getJobSchedulersCount()).toBe(1);
    } finally {
      await scheduler.close();
      await world.stop();
    }
  });
});
