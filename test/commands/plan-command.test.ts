import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { translator } from '../../src/bot/i18n.js';
import type { CommandContext, Reply } from '../../src/commands/context.js';
import type { HandlerDeps } from '../../src/commands/deps.js';
import { isParseError } from '../../src/commands/parse-error.js';
import { announcePlanLink, handlePlanImportAction, planCommand } from '../../src/commands/plan-command.js';
import { trainCommand } from '../../src/commands/train-command.js';
import type { Locale } from '../../src/config/schema.js';
import { startPlanHarness, type PlanHarness } from '../support/plan-harness.js';
import { uniquePrefix } from '../support/redis.js';

let harness: PlanHarness;
const weeklyMessage = readFileSync(new URL('../fixtures/weekly-plan.txt', import.meta.url), 'utf8');

beforeAll(async () => {
  harness = await startPlanHarness();
});

afterAll(async () => {
  await harness?.stop();
});

async function setUp() {
  // Monday morning in Shanghai, when the team writes its plan.
  const { plan, config, clock, runStore, chat, logger } = harness.startPlanRuntime({ prefix: uniquePrefix('plancmd'), now: '2026-11-30T09:10:00+08:00' });
  // Only the fields the plan handlers read; the other ports belong to other commands.
  const deps = { config, clock, logger, chat, translate: translator, plan: plan.ports } as unknown as HandlerDeps;
  const replies: Reply[] = [];

  const context = (userId = 'U01LINA', locale: Locale = 'zh-CN'): CommandContext => ({
    config,
    userId,
    channel: 'CPLAN',
    locale,
    now: clock.now(),
    source: 'slash',
    t: translator(locale),
    logger,
    respond: async (reply) => {
      replies.push(typeof reply === 'string' ? { text: reply } : reply);
    },
  });

  const run = async (text: string, userId?: string, locale?: Locale): Promise<Reply> => {
    const ctx = context(userId, locale);
    const command = planCommand.parse(text, ctx);
    if (isParseError(command)) throw new Error(`parse error ${command.key}`);
    await planCommand.handle(command, ctx, deps);
    return replies.at(-1)!;
  };
  return { plan, clock, run, context, replies, deps, runStore };
}

function draftIdOf(reply: Reply): string {
  const buttons = reply.blocks?.find((block) => block.type === 'actions') as { elements: Array<{ value: string }> } | undefined;
  return buttons?.elements[0]?.value ?? '';
}

describe('/plan import', () => {
  it('previews, confirms once and saves', async () => {
    const { plan, run, context } = await setUp();
    const preview = await run(`import\n${weeklyMessage}`);

    expect(preview.text).toContain('*2.1* 训练并部署医疗 phi4');
    expect(preview.text).toContain('虚拟机 yanshiyiliao · 配方 medical-phi4');
    expect(preview.text).toContain('分组 *2* 模型训练');
    expect(preview.text).toContain('第 13 行（不是计划项）：xunlian 是双卡的 H100，可以拿去研究 ep 通讯。');
    expect(await plan.store.list('2026-W49')).toEqual([]);

    const draftId = draftIdOf(preview);
    expect(draftId).toMatch(/^[0-9a-f]{16}$/);
    await handlePlanImportAction('confirm', draftId, context(), plan.ports);
    await handlePlanImportAction('confirm', draftId, context(), plan.ports);

    const items = await plan.store.list('2026-W49');
    expect(items.map((item) => [item.number, item.owner, item.status])).toEqual([
      ['1', undefined, 'todo'],
      ['2.1', undefined, 'todo'],
      ['2.2', 'U01LINA', 'todo'],
      ['2.3', 'U01LINA', 'todo'],
      ['3', undefined, 'todo'],
    ]);
    const delayed = (await plan.jobs.queue.getDelayed()).filter((job) => job.data.type === 'reminder');
    expect(delayed.length).toBeGreaterThan(0);
  });

  it('second click reports expired', async () => {
    const { plan, run, context, replies } = await setUp();
    const draftId = draftIdOf(await run(`import\n${weeklyMessage}`));
    await handlePlanImportAction('cancel', draftId, context(), plan.ports);
    expect(replies.at(-1)?.text).toBe('已取消导入，什么都没有保存。');
    await handlePlanImportAction('confirm', draftId, context(), plan.ports);
    expect(replies.at(-1)?.text).toContain('已经保存、取消或过期');
    expect(await plan.store.list('2026-W49')).toEqual([]);
  });

  it('message without items has no buttons', async () => {
    const { run } = await setUp();
    const preview = await run('import\n大家这周辛苦了');
    expect(preview.blocks?.some((block) => block.type === 'actions')).toBe(false);
    expect(preview.text).toContain('没有读到任何计划项');
  });
});

describe('/plan items', () => {
  it('adds, shows, edits, finishes and removes', async () => {
    const { run, plan, clock } = await setUp();

    expect((await run('add "研究 ep 通讯" due 周五 owner @李娜 vm xunlian recipe comm')).text).toBe(
      '已添加计划 1「研究 ep 通讯」，截止 12月4日 周五 18:00。',
    );
    expect((await run('add 2.1 "训练医疗 phi4" due 周二、三')).text).toContain('截止 12月2日 周三 18:00');
    expect((await run('add 2.1 "重复" due 周三')).text).toContain('已经有编号 2.1 的计划');

    const shown = await run('');
    const table = shown.blocks?.find((block) => block.type === 'table') as { rows: unknown[][] } | undefined;
    expect(table?.rows).toHaveLength(3);
    expect(table?.rows[1]?.[0]).toEqual({ type: 'raw_text', text: '1' });
    expect(table?.rows[1]?.[2]).toMatchObject({ type: 'rich_text' });
    expect(shown.text).toContain('共 2 项：0 项已完成，2 项未完成，0 项已逾期。');

    expect((await run('edit 2.1 due 周四 owner me')).text).toBe('已修改计划 2.1「训练医疗 phi4」：截止改为 12月3日 周四 18:00、负责人改为 <@U01LINA>。');
    expect((await run('edit 2.1 owner @王磊')).text).toBe('已修改计划 2.1「训练医疗 phi4」：负责人改为 <@U01WANGLEI>。');
    expect((await run('edit 2.1 owner me')).text).toBe('已修改计划 2.1「训练医疗 phi4」：负责人改为 <@U01LINA>。');
    expect((await plan.store.get({ week: '2026-W49', number: '2.1' }))?.owner).toBe('U01LINA');

    expect((await run('done 1')).text).toBe('计划 1「研究 ep 通讯」已标记为完成。');
    expect((await run('done 1')).text).toBe('计划 1「研究 ep 通讯」已经完成了。');

    // Friday evening: 2.1 is overdue.
    clock.set('2026-12-04T19:00:00+08:00');
    const late = await run('');
    expect(late.text).toContain('已逾期');
    expect(late.text).toContain('共 2 项：1 项已完成，1 项未完成，1 项已逾期。');

    expect((await run('remove 2.1')).text).toBe('已删除计划 2.1「训练医疗 phi4」。');
    expect((await run('remove 2.1')).text).toContain('没有编号为 2.1 的计划');
  });

  it('item due next week goes to next week', async () => {
    const { run } = await setUp();
    await run('add "部署医疗 phi4" due 下周二');
    expect((await run('next')).text).toContain('部署医疗 phi4');
    expect((await run('')).text).toContain('这周还没有计划');
    expect((await run('last')).text).toContain('上周没有计划。');
  });

  it('names next week when it is empty', async () => {
    const { run } = await setUp();
    const next = await run('next');
    expect(next.text).toContain('下周计划');
    expect(next.text).toContain('下周还没有计划');
  });

  it('replies in English', async () => {
    const { run } = await setUp();
    expect((await run('add "deploy phi4" due friday 5pm', 'U01LIUYANG', 'en')).text).toBe('Added plan item 1 "deploy phi4", due Fri Dec 4 17:00.');
    expect((await run('', 'U01LIUYANG', 'en')).text).toContain('This week 2026-W49 (Nov 30 – Dec 6)');
  });
});

describe('/train for a plan item', () => {
  it('rejects a missing item before queueing', async () => {
    const { run, context, deps, replies } = await setUp();
    await run('add 2.1 "训练医疗 phi4" due 周三');
    await run('add 3 "评测" due 周五');
    await run('done 3');

    const queued: unknown[] = [];
    const trainDeps = { ...deps, enqueue: async (request: unknown) => queued.push(request) } as unknown as HandlerDeps;
    const ctx = context();
    const command = trainCommand.parse('medical-phi4 for 9', ctx);
    if (isParseError(command)) throw new Error(`parse error ${command.key}`);
    await trainCommand.handle(command, ctx, trainDeps);

    expect(queued).toEqual([]);
    expect(replies.at(-1)?.text).toBe('本周没有编号为 9 的计划，没有创建运行。未完成的计划：2.1 训练医疗 phi4。');
  });

  it('says when no item is open', async () => {
    const { context, deps, replies } = await setUp();
    const ctx = context();
    const command = trainCommand.parse('medical-phi4 for 9', ctx);
    if (isParseError(command)) throw new Error(`parse error ${command.key}`);
    await trainCommand.handle(command, ctx, { ...deps, enqueue: async () => expect.unreachable('queued') } as unknown as HandlerDeps);
    expect(replies.at(-1)?.text).toContain('也没有未完成的计划');
  });
});

describe('announcePlanLink', () => {
  it('says the run was linked automatically', async () => {
    const { run, runStore, context, deps } = await setUp();
    await run('add 2.1 "训练医疗 phi4" due 周三 vm yanshiyiliao recipe medical-phi4');

    const created = await runStore.create({ kind: 'train', recipe: 'medical-phi4', vm: 'yanshiyiliao', userId: 'U01LINA', channel: 'CTRAIN', overrides: {} });
    const queued = await runStore.setThreadTs(created.id, '7777.0001');
    const text = await announcePlanLink(queued, context(), deps);

    expect(text).toBe('配方和虚拟机与计划 2.1「训练医疗 phi4」一致，已自动关联（截止 12月2日 周三 18:00）。');
    const thread = harness.slack.callsOf('chat.postMessage').filter((call) => call.body.thread_ts === '7777.0001');
    expect(thread.map((call) => call.body.text)).toEqual([text]);
  });

  it('names a missing item', async () => {
    const { runStore, context, deps } = await setUp();
    const created = await runStore.create({ kind: 'train', recipe: 'comm', vm: 'xunlian', userId: 'U01LINA', channel: 'CTRAIN', overrides: {}, planItem: '4.2' });
    expect(await announcePlanLink(created, context(), deps)).toBe('本周没有编号为 4.2 的计划，这个运行没有关联计划。');
  });

  it('stays quiet without a match', async () => {
    const { runStore, context, deps } = await setUp();
    const created = await runStore.create({ kind: 'train', recipe: 'comm', vm: 'xunlian', userId: 'U01LINA', channel: 'CTRAIN', overrides: {} });
    expect(await announcePlanLink(created, context(), deps)).toBeUndefined();
  });
});
