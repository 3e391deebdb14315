import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

import { renderParseError } from '../../src/commands/dispatch.js';
import type { ParseContext } from '../../src/commands/context.js';
import { isParseError, type ParseError } from '../../src/commands/parse-error.js';
import { handleVmStopConfirm, vmCommand, VM_STOP_CONFIRM_ACTION } from '../../src/commands/vm-command.js';
import { parseVm } from '../../src/commands/vm-parse.js';
import { translator } from '../../src/bot/i18n.js';
import {
  ADMIN,
  CHANNEL,
  commandContext,
  MEMBER,
  ONCALL,
  replyTexts,
  startVmWorld,
  stopSharedRedis,
  vmTestConfig,
  type VmWorld,
} from './vm-helpers.js';

const parseContext: ParseContext = {
  config: vmTestConfig(),
  userId: MEMBER,
  channel: CHANNEL,
  locale: 'zh-CN',
  now: new Date('2026-12-08T10:00:00+08:00'),
};

describe('vm grammar', () => {
  it.each([
    ['', { action: 'list' }],
    ['list', { action: 'list' }],
    ['列表', { action: 'list' }],
    ['start yanshiyiliao', { action: 'start', vm: 'yanshiyiliao' }],
    ['启动 xunlian', { action: 'start', vm: 'xunlian' }],
    ['开机 xunlian', { action: 'start', vm: 'xunlian' }],
    ['stop yanshi', { action: 'stop', vm: 'yanshi' }],
    ['释放 yanshi', { action: 'stop', vm: 'yanshi' }],
    ['关机 yanshi', { action: 'stop', vm: 'yanshi' }],
    ['deallocate yanshi', { action: 'stop', vm: 'yanshi' }],
    ['status xunlian', { action: 'status', vm: 'xunlian' }],
    ['STATUS xunlian', { action: 'status', vm: 'xunlian' }],
    ['状态 xunlian', { action: 'status', vm: 'xunlian' }],
  ])('%j', (text, expected) => {
    expect(parseVm(text, parseContext)).toEqual(expected);
  });

  it.each([
    ['reboot yanshi', 'vm.error.unknown_action'],
    ['start', 'vm.error.missing_vm'],
    ['stop yanshiyiliaox', 'core.error.unknown_vm'],
    ['status yanshi now', 'vm.error.extra_words'],
    ['list all', 'vm.error.extra_words'],
    ['start "yanshi', 'core.error.unterminated_quote'],
  ])('rejects %j', (text, key) => {
    const result = parseVm(text, parseContext);
    expect(isParseError(result)).toBe(true);
    expect((result as ParseError).key).toBe(key);
  });

  it('suggests the nearest VM', () => {
    const result = parseVm('start yanshiyiliaox', parseContext) as ParseError;
    expect(renderParseError(result, translator('zh-CN'))).toContain('yanshiyiliao');
  });

  it('suggests the nearest action', () => {
    const result = parseVm('statsu xunlian', parseContext) as ParseError;
    expect(renderParseError(result, translator('en'))).toContain('status');
  });

  it('names an example VM when missing', () => {
    const result = parseVm('stop', parseContext) as ParseError;
    expect(renderParseError(result, translator('zh-CN'))).toContain('/vm stop yanshiyiliao');
  });
});

describe('/vm handlers', () => {
  let world: VmWorld;

  beforeEach(async () => {
    world = await startVmWorld();
  });

  afterEach(async () => {
    await world.stop();
  });

  afterAll(async () => {
    await stopSharedRedis();
  });

  it('list shows power, GPUs, run, idle and policy', async () => {
    world.arm.addVm('yanshiyiliao', 'running');
    world.arm.addVm('xunlian', 'deallocated');
    world.arm.addVm('yanshi', 'running');
    const run = await world.runStore.create({ kind: 'train', recipe: 'medical-phi4', vm: 'yanshiyiliao', userId: MEMBER, channel: CHANNEL, overrides: {} });
    await world.activity.markActive('yanshi', new Date(world.clock.now().getTime() - 25 * 60_000));
    const ctx = commandContext(world, MEMBER);

    await vmCommand.handle({ action: 'list' }, ctx, world.deps);

    const [text] = replyTexts(ctx);
    const lines = text!.split('\n');
    const line = (vm: string) => lines.find((entry) => entry.startsWith(`*${vm}*`)) ?? '';
    expect(line('yanshiyiliao')).toContain('运行中');
    expect(line('yanshiyiliao')).toContain('1 块 GPU A100 80GB');
    expect(line('yanshiyiliao')).toContain(`运行 #${run.id} medical-phi4`);
    expect(line('yanshiyiliao')).toContain('使用中');
    expect(line('yanshiyiliao')).toContain('空闲 60 分钟后提醒，再过 10 分钟释放');
    expect(line('xunlian')).toContain('已释放（不计费）');
    expect(line('xunlian')).toContain('2 块 GPU H100');
    expect(line('yanshi')).toContain('已空闲 25 分 0 秒');
    expect(line('yanshi')).toContain('自动关机：关闭');
    expect(line('local')).toContain('常开（未配置 Azure）');
    expect(line('local')).toContain('自动关机：不适用');
  });

  it('list reports an Azure error per VM', async () => {
    world.arm.addVm('yanshiyiliao', 'running');
    world.arm.addVm('yanshi', 'running');
    world.arm.addVm('xunlian', 'running');
    world.arm.fail('xunlian', { status: 403 });
    const ctx = commandContext(world, MEMBER);

    await vmCommand.handle({ action: 'list' }, ctx, world.deps);

    const [text] = replyTexts(ctx);
    expect(text).toContain('*xunlian* · 读取失败');
    expect(text).toContain('Virtual Machine Contributor');
  });

  it('start boots a deallocated VM', async () => {
    world.arm.addVm('xunlian', 'deallocated');
    const ctx = commandContext(world, MEMBER);

    await vmCommand.handle({ action: 'start', vm: 'xunlian' }, ctx, world.deps);

    expect(world.arm.powerState('xunlian')).toBe('running');
    const texts = replyTexts(ctx);
    expect(texts[0]).toBe('正在启动虚拟机 xunlian…');
    expect(texts[1]).toMatch(/^虚拟机 xunlian 已启动，用时/);
    expect(await world.activity.lastActiveAt('xunlian')).toEqual(world.clock.now());
  });

  it('start of a running VM does nothing', async () => {
    world.arm.addVm('xunlian', 'running');
    const ctx = commandContext(world, MEMBER);
    const before = world.arm.requests.length;

    await vmCommand.handle({ action: 'start', vm: 'xunlian' }, ctx, world.deps);

    expect(replyTexts(ctx)).toEqual(['xunlian 已经在运行。']);
    expect(world.arm.requests.slice(before).map((request) => request.operation)).toEqual(['instance_view']);
  });

  it('start of an unmanaged VM explains why', async () => {
    const ctx = commandContext(world, MEMBER);
    await vmCommand.handle({ action: 'start', vm: 'local' }, ctx, world.deps);
    expect(replyTexts(ctx)[0]).toContain('vms.local.azure');
  });

  it('start reports quota in Chinese', async () => {
    world.arm.addVm('xunlian', 'deallocated');
    world.arm.fail('xunlian', { status: 409, code: 'OperationNotAllowed', message: 'exceeding approved Cores quota', operations: ['start'] });
    const ctx = commandContext(world, MEMBER);

    await vmCommand.handle({ action: 'start', vm: 'xunlian' }, ctx, world.deps);

    const last = replyTexts(ctx).at(-1)!;
    expect(last).toContain('无法启动虚拟机 xunlian');
    expect(last).toContain('配额');
  });

  it('stop deallocates and reports savings', async () => {
    world.arm.addVm('yanshiyiliao', 'running');
    const ctx = commandContext(world, MEMBER);

    await vmCommand.handle({ action: 'stop', vm: 'yanshiyiliao' }, ctx, world.deps);
    expect(world.arm.powerState('yanshiyiliao')).toBe('deallocated');

    world.clock.advance(2 * 3600_000);
    const later = commandContext(world, MEMBER);
    await vmCommand.handle({ action: 'stop', vm: 'yanshiyiliao' }, later, world.deps);
    expect(replyTexts(later)).toEqual(['yanshiyiliao 当前已释放（不计费），不需要再释放。']);

    const texts = replyTexts(ctx);
    expect(texts[0]).toContain('正在释放虚拟机 yanshiyiliao');
    expect(texts[1]).toContain('已释放');
    expect(texts[1]).toContain('本周已节省 0.0 小时（约 0.00）');
  });

  it('stop needs the owner or an admin', async () => {
    world.arm.addVm('xunlian', 'running');
    const ctx = commandContext(world, MEMBER);

    await vmCommand.handle({ action: 'stop', vm: 'xunlian' }, ctx, world.deps);

    expect(world.arm.powerState('xunlian')).toBe('running');
    expect(replyTexts(ctx)[0]).toBe('只有 xunlian 的负责人或管理员可以释放它：李娜、王磊。');
  });

  it('stop during a run is refused', async () => {
    world.arm.addVm('xunlian', 'running');
    const run = await world.runStore.create({ kind: 'train', recipe: 'medical-phi4', vm: 'xunlian', userId: MEMBER, channel: CHANNEL, overrides: {} });
    const owner = commandContext(world, ONCALL);

    await vmCommand.handle({ action: 'stop', vm: 'xunlian' }, owner, world.deps);

    expect(world.arm.powerState('xunlian')).toBe('running');
    expect(replyTexts(owner)[0]).toContain(`#${run.id} medical-phi4`);
    expect(replyTexts(owner)[0]).toContain('没有执行');
    expect(owner.replies[0]?.blocks).toBeUndefined();
  });

  it('admin can force stop with confirmation', async () => {
    world.arm.addVm('xunlian', 'running');
    await world.runStore.create({ kind: 'train', recipe: 'medical-phi4', vm: 'xunlian', userId: MEMBER, channel: CHANNEL, overrides: {} });
    const admin = commandContext(world, ADMIN);

    await vmCommand.handle({ action: 'stop', vm: 'xunlian' }, admin, world.deps);

    expect(world.arm.powerState('xunlian')).toBe('running');
    const blocks = JSON.stringify(admin.replies[0]?.blocks);
    expect(blocks).toContain(VM_STOP_CONFIRM_ACTION);
    expect(blocks).toContain('"confirm"');

    const click = commandContext(world, ADMIN);
    await handleVmStopConfirm('xunlian', click, world.deps);
    expect(world.arm.powerState('xunlian')).toBe('deallocated');
  });

  it('confirm button rejects non-admins', async () => {
    world.arm.addVm('xunlian', 'running');
    const click = commandContext(world, ONCALL);

    await handleVmStopConfirm('xunlian', click, world.deps);

    expect(world.arm.powerState('xunlian')).toBe('running');
    expect(replyTexts(click)[0]).toContain('王磊');
  });

  it('status shows GPUs of a running VM', async () => {
    world.arm.addVm('yanshi', 'running');
    const ctx = commandContext(world, MEMBER);

    await vmCommand.handle({ action: 'status', vm: 'yanshi' }, ctx, world.deps);

    const [text] = replyTexts(ctx);
    expect(text).toContain('yanshi · 运行中');
    // This machine has no NVIDIA driver, so the probe reports that instead of GPUs.
    expect(text).toMatch(/nvidia-smi|GPU 0/);
  });

  it('status of a deallocated VM skips SSH', async () => {
    world.arm.addVm('yanshi', 'deallocated');
    const ctx = commandContext(world, MEMBER, 'en');

    await vmCommand.handle({ action: 'status', vm: 'yanshi' }, ctx, world.deps);

    expect(replyTexts(ctx)[0]).toContain('yanshi · deallocated (not billed)');
    expect(replyTexts(ctx)[0]).toContain('/vm start yanshi');
  });

  it('not found names the resource group', async () => {
    const ctx = commandContext(world, MEMBER);
    await vmCommand.handle({ action: 'status', vm: 'yanshi' }, ctx, world.deps);
    expect(replyTexts(ctx)[0]).toBe(
      '在 Azure 里找不到虚拟机 yanshi（订阅 00000000-0000-0000-0000-000000000001，资源组 rg-gpu，名称 yanshi）。请检查配置里的 `vms.yanshi.azure`。',
    );
  });
});
