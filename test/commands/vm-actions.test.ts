import pino from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { Reply } from '../../src/commands/context.js';
import type { ActionRequest } from '../../src/commands/registry.js';
import { vmKeepRunningAction, vmStopConfirmAction } from '../../src/commands/vm-actions.js';
import { AutoStopper } from '../../src/jobs/auto-stop.js';
import { ADMIN, CHANNEL, MEMBER, startVmWorld, stopSharedRedis, type VmWorld } from './vm-helpers.js';

function click(actionId: string, value: string, userId: string): ActionRequest & { replies: string[] } {
  const replies: string[] = [];
  return {
    actionId,
    value,
    userId,
    channel: CHANNEL,
    replies,
    respond: async (reply: Reply | string) => {
      replies.push(typeof reply === 'string' ? reply : reply.text);
    },
  };
}

describe('VM buttons', () => {
  let world: VmWorld;

  beforeEach(async () => {
    world = await startVmWorld();
    world.arm.addVm('yanshiyiliao', 'running');
  });

  afterEach(async () => {
    await world.stop();
  });

  afterAll(async () => {
    await stopSharedRedis();
  });

  async function postWarning(): Promise<string> {
    const stopper = new AutoStopper({
      config: world.config,
      control: world.ports.control,
      activity: world.activity,
      runs: world.runStore,
      hosts: world.ports.hosts,
      chat: world.chat,
      clock: world.clock,
      logger: pino({ level: 'silent' }),
    });
    await world.activity.markActive('yanshiyiliao', new Date(world.clock.now().getTime() - 2 * 3600_000));
    expect(await stopper.checkVm('yanshiyiliao', 0)).toBe('warned');
    const match = /"value":"(yanshiyiliao:[^"]+)"/.exec(JSON.stringify(world.chat.posted.at(-1)?.blocks));
    return match![1]!;
  }

  it('keep running cancels the warning', async () => {
    const value = await postWarning();
    const first = click('vm_keep_running', value, MEMBER);
    const second = click('vm_keep_running', value, ADMIN);

    await vmKeepRunningAction.handle(first, world.deps);
    await vmKeepRunningAction.handle(second, world.deps);

    expect(first.replies).toEqual(['好的，yanshiyiliao 会保持运行，空闲 60 分钟后会再次提醒。']);
    expect(second.replies).toEqual(['这个提醒已经处理过了，yanshiyiliao 不会因为它被释放。']);
    expect(await world.activity.getWarning('yanshiyiliao')).toBeUndefined();
  });

  it('keep running rejects strangers', async () => {
    const value = await postWarning();
    const stranger = click('vm_keep_running', value, 'U09STRANGER');

    await vmKeepRunningAction.handle(stranger, world.deps);

    expect(stranger.replies[0]).toContain('不在 TrainOps 团队名单里');
    expect(await world.activity.getWarning('yanshiyiliao')).toBeDefined();
  });

  it('stop confirm deallocates for an admin', async () => {
    await world.runStore.create({ kind: 'train', recipe: 'medical-phi4', vm: 'yanshiyiliao', userId: MEMBER, channel: CHANNEL, overrides: {} });
    const confirm = click('vm_stop_confirm', 'yanshiyiliao', ADMIN);

    await vmStopConfirmAction.handle(confirm, world.deps);

    expect(world.arm.powerState('yanshiyiliao')).toBe('deallocated');
    expect(confirm.replies.at(-1)).toContain('虚拟机 yanshiyiliao 已释放');
  });

  it('stop confirm rejects a member', async () => {
    const confirm = click('vm_stop_confirm', 'yanshiyiliao', MEMBER);
    await vmStopConfirmAction.handle(confirm, world.deps);
    expect(world.arm.powerState('yanshiyiliao')).toBe('running');
    expect(confirm.replies[0]).toContain('王磊');
  });
});
