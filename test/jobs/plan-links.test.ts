import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SlackChat } from '../../src/bot/slack-chat.js';
import type { PlanItemDraft } from '../../src/commands/plan-types.js';
import { loadConfig } from '../../src/config/load.js';
import { ManualClock } from '../../src/jobs/clock.js';
import { PlanLinker } from '../../src/jobs/plan-links.js';
import { PlanStore } from '../../src/jobs/plan-store.js';
import type { RunRecord, RunStatus } from '../../src/jobs/run-types.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

let redisServer: TestRedis;
let slack: FakeSlack;
const connections: Redis[] = [];
const config = loadConfig('config/trainops.example.yaml');
const WEEK = '2026-W49';

beforeAll(async () => {
  redisServer = await startRedis();
  slack = await startFakeSlack();
});

afterAll(async () => {
  for (const connection of connections) connection.disconnect();
  await slack.stop();
  await redisServer.stop();
});

const iso = (local: string): string => new Date(local).toISOString();

const ITEMS: PlanItemDraft[] = [
  { number: '1', title: '部署 Phi4', due: iso('2026-11-30T18:00:00+08:00'), dueText: '周一内完成', vm: 'guanzongphi4', recipe: 'phi4-multimodal', kind: 'deploy' },
  { number: '2.1', title: '训练并部署医疗 phi4', due: iso('2026-11-30T18:00:00+08:00'), dueText: '周一完成', owner: 'U01CHENCHEN', vm: 'yanshiyiliao', recipe: 'medical-phi4', kind: 'train_deploy' },
  { number: '2.3', title: '完成训练 phi3.5 moe + 医疗', due: iso('2026-12-02T18:00:00+08:00'), dueText: '周二、三完成', owner: 'U01LINA', recipe: 'phi35moe-medical', kind: 'train' },
];

async function setUp() {
  const prefix = uniquePrefix('links');
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  connections.push(redis);
  const clock = new ManualClock('2026-11-30T09:30:00+08:00');
  const store = new PlanStore(redis, prefix, clock);
  for (const item of ITEMS) await store.add(WEEK, item, 'U01WANGLEI');
  let changes = 0;
  const linker = new PlanLinker({
    store,
    chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url }),
    clock,
    config,
    logger: pino({ level: 'silent' }),
    onPlanChanged: async () => {
      changes += 1;
    },
  });
  return { store, clock, linker, changes: () => changes };
}

function run(id: string, fields: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    kind: 'train',
    recipe: 'medical-phi4',
    vm: 'yanshiyiliao',
    userId: 'U01WANGLEI',
    channel: 'CRUNS',
    threadTs: `${id}000.0001`,
    overrides: {},
    status: 'queued',
    attempt: 1,
    attempts: [],
    createdAt: '2026-11-30T01:30:00Z',
    updatedAt: '2026-11-30T01:30:00Z',
    eventOffset: 0,
    ...fields,
  };
}

function withStatus(record: RunRecord, status: RunStatus): RunRecord {
  return { ...record, status };
}

describe('PlanLinker.linkRunToPlan', () => {
  it('links the named item', async () => {
    const { linker, store } = await setUp();
    const outcome = await linker.linkRunToPlan(run('1', { recipe: 'phi35moe-medical', vm: 'xunlian', planItem: '2.3' }));
    expect(outcome.outcome).toBe('linked');
    expect(outcome.outcome === 'linked' && outcome.automatic).toBe(false);
    expect((await store.get({ week: WEEK, number: '2.3' }))?.runIds).toEqual(['1']);
    expect(await store.findRunLink('1')).toEqual({ week: WEEK, number: '2.3' });
  });

  it('reports a missing named item', async () => {
    const { linker } = await setUp();
    expect(await linker.linkRunToPlan(run('2', { planItem: '9.9' }))).toEqual({ outcome: 'not_found', number: '9.9' });
  });

  it('links by recipe and VM', async () => {
    const { linker } = await setUp();
    const outcome = await linker.linkRunToPlan(run('3'));
    expect(outcome.outcome === 'linked' && [outcome.item.number, outcome.automatic]).toEqual(['2.1', true]);
  });

  it('ignores a run on another VM', async () => {
    const { linker } = await setUp();
    expect(await linker.linkRunToPlan(run('4', { vm: 'yanshi' }))).toEqual({ outcome: 'none' });
  });

  it('links an item without VM by recipe', async () => {
    const { linker } = await setUp();
    const outcome = await linker.linkRunToPlan(run('5', { recipe: 'phi35moe-medical', vm: 'xunlian' }));
    expect(outcome.outcome === 'linked' && outcome.item.number).toBe('2.3');
  });
});

describe('PlanLinker.onRunStatusChanged', () => {
  it('follows a deploy run to done', async () => {
    const { linker, store, changes } = await setUp();
    const deploy = run('10', { kind: 'deploy', recipe: 'phi4-multimodal', vm: 'guanzongphi4' });
    await linker.linkRunToPlan(deploy);

    await linker.onRunStatusChanged(withStatus(deploy, 'starting_vm'));
    expect((await store.get({ week: WEEK, number: '1' }))?.status).toBe('in_progress');

    await linker.onRunStatusChanged(withStatus(deploy, 'serving'));
    const item = await store.get({ week: WEEK, number: '1' });
    expect(item?.status).toBe('done');
    expect(item?.doneAt).toBe(iso('2026-11-30T09:30:00+08:00'));
    expect(changes()).toBe(3);
  });

  it('train and deploy item waits for the deployment', async () => {
    const { linker, store } = await setUp();
    const train = run('20');
    await linker.linkRunToPlan(train);
    await linker.onRunStatusChanged(withStatus(train, 'running'));
    await linker.onRunStatusChanged(withStatus(train, 'succeeded'));

    const trained = await store.get({ week: WEEK, number: '2.1' });
    expect(trained?.status).toBe('in_progress');
    expect(trained?.trainedAt).toBeDefined();

    // The deployment the recipe chains to (deployAfter) follows its source run's item.
    const deploy = run('21', { kind: 'deploy', recipe: 'medical-phi4-serve', sourceRunId: '20' });
    const outcome = await linker.linkRunToPlan(deploy);
    expect(outcome.outcome === 'linked' && outcome.item.number).toBe('2.1');
    await linker.onRunStatusChanged(withStatus(deploy, 'succeeded'));
    expect((await store.get({ week: WEEK, number: '2.1' }))?.status).toBe('done');
  });

  it('failed run returns the item to todo', async () => {
    const { linker, store } = await setUp();
    const train = run('30', { recipe: 'phi35moe-medical', vm: 'xunlian' });
    await linker.linkRunToPlan(train);
    await linker.onRunStatusChanged(withStatus(train, 'running'));
    await linker.onRunStatusChanged(withStatus(train, 'failed'));
    const item = await store.get({ week: WEEK, number: '2.3' });
    expect(item?.status).toBe('todo');
    expect(item?.lastRunStatus).toBe('failed');
  });

  it('ignores runs without a link', async () => {
    const { linker } = await setUp();
    expect(await linker.onRunStatusChanged(run('40', { recipe: 'comm', vm: 'xunlian', status: 'running' }))).toBeUndefined();
  });
});

describe('PlanLinker.onRunProgress', () => {
  it('warns once when the ETA passes due', async () => {
    const { linker, store } = await setUp();
    const train = run('50', { status: 'running', threadTs: '5000.0001' });
    await linker.linkRunToPlan(train);

    // An ETA before the due time is stored without a warning.
    await linker.onRunProgress({ ...train, step: 100, maxSteps: 1000 }, new Date('2026-11-30T17:00:00+08:00'));
    expect(slack.callsOf('chat.postMessage').filter((call) => call.body.thread_ts === '5000.0001')).toHaveLength(0);

    for (const step of [200, 300, 400]) {
      await linker.onRunProgress({ ...train, step, maxSteps: 1000 }, new Date('2026-11-30T20:10:00+08:00'));
    }

    const thread = slack.callsOf('chat.postMessage').filter((call) => call.body.thread_ts === '5000.0001');
    expect(thread).toHaveLength(1);
    expect(String(thread[0]?.body.text)).toContain('预计 20:10 完成');
    expect(String(thread[0]?.body.text)).toContain('晚 2 小时 10 分');

    const owner = slack.callsOf('chat.postMessage').filter((call) => call.body.channel === 'U01CHENCHEN');
    expect(owner).toHaveLength(1);
    expect(String(owner[0]?.body.text)).toContain('<@U01CHENCHEN>');

    const item = await store.get({ week: WEEK, number: '2.1' });
    expect(item?.progress).toEqual({ step: 400, maxSteps: 1000 });
    expect(item?.eta).toBe(iso('2026-11-30T20:10:00+08:00'));
  });

  it('estimates the ETA from the step rate', async () => {
    const { linker, store } = await setUp();
    const train = run('60', { recipe: 'phi35moe-medical', vm: 'xunlian', status: 'running' });
    await linker.linkRunToPlan(train);

    // 100 steps in 10 minutes, 900 steps left: 90 minutes after the last step at 09:25.
    await linker.onRunProgress({
      ...train,
      step: 100,
      maxSteps: 1000,
      stepRateOrigin: { step: 0, time: iso('2026-11-30T09:15:00+08:00') },
      lastStepTime: iso('2026-11-30T09:25:00+08:00'),
    });
    expect((await store.get({ week: WEEK, number: '2.3' }))?.eta).toBe(iso('2026-11-30T10:55:00+08:00'));
  });
});
