import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startPlanHarness, type PlanHarness } from '../support/plan-harness.js';
import { uniquePrefix } from '../support/redis.js';

let harness: PlanHarness;

beforeAll(async () => {
  harness = await startPlanHarness();
});

afterAll(async () => {
  await harness?.stop();
});

async function setUp(prefix = uniquePrefix('runtime')) {
  const { plan, runStore } = harness.startPlanRuntime({ prefix, now: '2026-11-30T09:30:00+08:00' });
  if (prefix.startsWith('seed')) return { plan, runStore };
  await plan.store.add(
    '2026-W49',
    { number: '2.1', title: '训练并部署医疗 phi4', due: new Date('2026-11-30T18:00:00+08:00').toISOString(), dueText: '周一完成', owner: 'U01CHENCHEN', vm: 'yanshiyiliao', recipe: 'medical-phi4', kind: 'train_deploy' },
    'U01LINA',
  );
  return { plan, runStore };
}

function homeViews(userId: string): Array<{ blocks: Array<{ text?: { text?: string } }> }> {
  return harness.slack
    .callsOf('views.publish')
    .filter((call) => call.body.user_id === userId)
    .map((call) => call.body.view as { blocks: Array<{ text?: { text?: string } }> });
}

function homeText(view: { blocks: Array<{ text?: { text?: string } }> } | undefined): string {
  return (view?.blocks ?? []).map((block) => block.text?.text ?? '').join('\n');
}

describe('PlanRuntime', () => {
  it('publishes the App Home tab', async () => {
    const { plan } = await setUp();
    await plan.publishHome('U01LINA');

    const text = homeText(homeViews('U01LINA').at(-1));
    expect(text).toContain('*2.1* 训练并部署医疗 phi4 · <@U01CHENCHEN> · yanshiyiliao · 11月30日 周一 18:00 · 待办');
    expect(text).toContain('现在没有进行中的运行。');
  });

  it('refreshes the home tab when a linked run starts', async () => {
    const { plan, runStore } = await setUp();
    await plan.publishHome('U01LIUYANG');
    const before = homeViews('U01LIUYANG').length;

    const run = await runStore.create({ kind: 'train', recipe: 'medical-phi4', vm: 'yanshiyiliao', userId: 'U01CHENCHEN', channel: 'CRUNS', overrides: {} });
    const link = await plan.linkRunToPlan(run);
    expect(link.outcome === 'linked' && link.automatic).toBe(true);

    const started = await runStore.transition(run.id, 'starting_vm');
    await plan.onRunUpdated(started);

    expect((await plan.store.get({ week: '2026-W49', number: '2.1' }))?.status).toBe('in_progress');
    const views = homeViews('U01LIUYANG');
    expect(views.length).toBeGreaterThan(before);
    // This member reads English.
    const text = homeText(views.at(-1));
    expect(text).toContain('In progress');
    expect(text).toContain(`#${run.id} medical-phi4 on yanshiyiliao · Starting VM`);
  });

  it('progress update alone keeps the item', async () => {
    const { plan, runStore } = await setUp();
    const run = await runStore.create({ kind: 'train', recipe: 'medical-phi4', vm: 'yanshiyiliao', userId: 'U01CHENCHEN', channel: 'CRUNS', overrides: {} });
    await plan.linkRunToPlan(run);
    await plan.onRunUpdated({ ...run, status: 'running' });
    await plan.onRunUpdated({ ...run, status: 'running', step: 10, maxSteps: 100 });

    const item = await plan.store.get({ week: '2026-W49', number: '2.1' });
    expect(item?.status).toBe('in_progress');
    expect(item?.progress).toEqual({ step: 10, maxSteps: 100 });
  });
});

describe('PlanRuntime progress', () => {
  it('home tab shows run progress', async () => {
    const { plan, runStore } = await setUp();
    await plan.publishHome('U01WANGLEI');
    const run = await runStore.create({ kind: 'train', recipe: 'medical-phi4', vm: 'yanshiyiliao', userId: 'U01CHENCHEN', channel: 'CRUNS', overrides: {} });
    await plan.linkRunToPlan(run);
    await plan.onRunUpdated({ ...run, status: 'running' });
    await plan.onRunUpdated({ ...run, status: 'running', step: 250, maxSteps: 1000 });

    expect(homeText(homeViews('U01WANGLEI').at(-1))).toContain(`#${run.id} 25%`);
  });
});

describe('PlanRuntime run links', () => {
  it('links a chained deployment on its first change', async () => {
    const { plan, runStore } = await setUp();
    const train = await runStore.create({ kind: 'train', recipe: 'medical-phi4', vm: 'yanshiyiliao', userId: 'U01CHENCHEN', channel: 'CRUNS', overrides: {} });
    await plan.linkRunToPlan(train);
    await plan.onRunUpdated({ ...train, status: 'succeeded' });

    // The worker starts the recipe's deployAfter deploy itself; no command links it.
    const created = await runStore.create({ kind: 'deploy', recipe: 'medical-phi4-serve', vm: 'yanshiyiliao', userId: 'U01CHENCHEN', channel: 'CRUNS', overrides: {}, sourceRunId: train.id });
    const deploy = await runStore.setThreadTs(created.id, '8888.0001');
    await plan.onRunUpdated({ ...deploy, status: 'starting_vm' });
    await plan.onRunUpdated({ ...deploy, status: 'serving' });

    expect((await plan.store.get({ week: '2026-W49', number: '2.1' }))?.status).toBe('done');
    const thread = harness.slack.callsOf('chat.postMessage').filter((call) => call.body.thread_ts === '8888.0001');
    expect(thread.map((call) => call.body.text)).toEqual(['配方和虚拟机与计划 2.1「训练并部署医疗 phi4」一致，已自动关联（截止 11月30日 周一 18:00）。']);
  });
});

describe('PlanRuntime seeding', () => {
  it('seeds config items once per week', async () => {
    const prefix = uniquePrefix('seed');
    const first = await setUp(prefix);
    await first.plan.start();
    const seeded = await first.plan.store.list('2026-W49');
    expect(seeded.map((item) => [item.number, item.owner, item.due])).toEqual([
      ['1', 'U01WANGLEI', new Date('2026-11-30T18:00:00+08:00').toISOString()],
      ['2.1', 'U01CHENCHEN', new Date('2026-11-30T18:00:00+08:00').toISOString()],
      ['2.2', 'U01LINA', new Date('2026-11-30T18:00:00+08:00').toISOString()],
      ['2.3', 'U01LINA', new Date('2026-12-02T18:00:00+08:00').toISOString()],
      ['3', 'U01LIUYANG', new Date('2026-12-03T18:00:00+08:00').toISOString()],
    ]);

    // A removed item stays removed when another process starts.
    await first.plan.store.remove({ week: '2026-W49', number: '3' });
    const second = await setUp(prefix);
    await second.plan.start();
    expect((await second.plan.store.list('2026-W49')).map((item) => item.number)).toEqual(['1', '2.1', '2.2', '2.3']);
  });
});
