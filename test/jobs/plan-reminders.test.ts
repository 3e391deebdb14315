import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { PlanItemDraft } from '../../src/commands/plan-types.js';
import { weekKeyOf } from '../../src/commands/plan-week.js';
import type { Config } from '../../src/config/schema.js';
import { ManualClock } from '../../src/jobs/clock.js';
import { nextWorkingMorning, planReminders, reminderJobId, type ReminderJobData } from '../../src/jobs/plan-reminders.js';
import { PlanStore } from '../../src/jobs/plan-store.js';
import type { PlanJobs } from '../../src/jobs/plan-worker.js';
import { planTestConfig, startPlanHarness, type PlanHarness } from '../support/plan-harness.js';
import { uniquePrefix } from '../support/redis.js';

let harness: PlanHarness;

beforeAll(async () => {
  harness = await startPlanHarness();
});

afterAll(async () => {
  await harness?.stop();
});

const iso = (local: string): string => new Date(local).toISOString();

function testConfig(timezone = 'Asia/Shanghai', channel = 'CPLAN'): Config {
  return planTestConfig(timezone, channel, 'yanshi');
}

function draft(due: string, number = '2.2'): PlanItemDraft {
  return { number, title: '训练并部署 sft+rl 训练的 PHI4', due: iso(due), dueText: '周一', owner: 'ULINA', vm: 'yanshi', kind: 'train_deploy' };
}

interface Setup {
  prefix: string;
  store: PlanStore;
  clock: ManualClock;
  config: Config;
  startProcess(options?: { worker?: boolean }): Promise<PlanJobs>;
}

async function setUp(now: string, channel: string, timezone = 'Asia/Shanghai'): Promise<Setup> {
  const prefix = uniquePrefix('plan');
  const clock = new ManualClock(now);
  const config = testConfig(timezone, channel);
  const store = new PlanStore(harness.connect(), prefix, clock);
  const startProcess = (options: { worker?: boolean } = {}): Promise<PlanJobs> => harness.startProcess({ prefix, config, clock, ...options });
  return { prefix, store, clock, config, startProcess };
}

function postsTo(channel: string): string[] {
  return harness.slack
    .callsOf('chat.postMessage')
    .filter((call) => call.body.channel === channel)
    .map((call) => String(call.body.text));
}

async function waitForCompleted(queue: Queue, jobId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if ((await queue.getJobState(jobId)) === 'completed') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`job ${jobId} did not complete`);
}

describe('planReminders instants', () => {
  const plan = testConfig().plan;

  it('lists day before, two hours and due', () => {
    const reminders = planReminders({ due: iso('2026-12-07T18:00:00+08:00') }, plan, 'Asia/Shanghai');
    expect(reminders.map((reminder) => [reminder.kind, reminder.at.toISOString()])).toEqual([
      ['day_before', iso('2026-12-06T10:00:00+08:00')],
      ['before_2h', iso('2026-12-07T16:00:00+08:00')],
      ['due', iso('2026-12-07T18:00:00+08:00')],
    ]);
  });

  it('keeps local time across spring forward', () => {
    // Clocks in New York go forward on Sunday 8 March 2026 at 02:00.
    const reminders = planReminders({ due: iso('2026-03-09T18:00:00-04:00') }, plan, 'America/New_York');
    expect(reminders[0]?.at.toISOString()).toBe(iso('2026-03-08T10:00:00-04:00'));
    expect(reminders[1]?.at.toISOString()).toBe(iso('2026-03-09T16:00:00-04:00'));
  });

  it('keeps local time across fall back', () => {
    // Clocks in New York go back on Sunday 1 November 2026 at 02:00.
    const reminders = planReminders({ due: iso('2026-11-02T18:00:00-05:00') }, plan, 'America/New_York');
    expect(reminders[0]?.at.toISOString()).toBe(iso('2026-11-01T10:00:00-05:00'));
  });

  it('overdue notice skips the weekend', () => {
    const friday = new Date('2026-12-04T18:00:00+08:00');
    expect(nextWorkingMorning(friday, '09:30', 'Asia/Shanghai').toISOString()).toBe(iso('2026-12-07T09:30:00+08:00'));
  });

  it('overdue notice crosses spring forward', () => {
    const friday = new Date('2026-03-06T18:00:00-05:00');
    expect(nextWorkingMorning(friday, '09:30', 'America/New_York').toISOString()).toBe(iso('2026-03-09T09:30:00-04:00'));
  });

  it('honours custom reminder settings', () => {
    const custom = { ...plan, reminders: { dayBeforeAt: null, hoursBefore: [24, 1], atDue: false, overdueMorningAt: null } };
    const reminders = planReminders({ due: iso('2026-12-07T18:00:00+08:00') }, custom, 'Asia/Shanghai');
    expect(reminders.map((reminder) => reminder.kind)).toEqual(['before_24h', 'before_1h']);
  });
});

describe('PlanJobs reminders', () => {
  it('schedules each reminder at its instant', async () => {
    const setup = await setUp('2026-12-05T09:00:00+08:00', 'CSCHEDULE');
    const item = (await setup.store.add('2026-W50', draft('2026-12-07T18:00:00+08:00'), 'ULINA'))!;
    const jobs = await setup.startProcess({ worker: false });

    const delayed = await jobs.queue.getDelayed();
    const instants = delayed
      .map((job) => [(job.data as ReminderJobData).kind, (job.data as ReminderJobData).at, job.opts.delay])
      .sort((a, b) => String(a[1]).localeCompare(String(b[1])));
    const now = setup.clock.now().getTime();
    expect(instants).toEqual([
      ['day_before', iso('2026-12-06T10:00:00+08:00'), Date.parse('2026-12-06T10:00:00+08:00') - now],
      ['before_2h', iso('2026-12-07T16:00:00+08:00'), Date.parse('2026-12-07T16:00:00+08:00') - now],
      ['due', iso('2026-12-07T18:00:00+08:00'), Date.parse('2026-12-07T18:00:00+08:00') - now],
    ]);
    expect(item.week).toBe('2026-W50');
  });

  it('fires once with a short real delay', async () => {
    const due = '2026-12-07T18:00:00+08:00';
    // Two hours before due, less 700 ms: the 2-hour reminder is 700 ms away in real time.
    const setup = await setUp(new Date(Date.parse(due) - 2 * 3_600_000 - 700).toISOString(), 'CONCE');
    await setup.store.add('2026-W50', draft(due), 'ULINA');
    const jobs = await setup.startProcess();

    const jobId = reminderJobId({ week: '2026-W50', number: '2.2', kind: 'before_2h', at: iso('2026-12-07T16:00:00+08:00'), due: iso(due) });
    await waitForCompleted(jobs.queue, jobId);

    const posts = postsTo('CONCE');
    expect(posts).toHaveLength(1);
    expect(posts[0]).toContain('<@ULINA>');
    expect(posts[0]).toContain('还有 2 小时截止');
    expect(posts[0]).toContain('12月7日 周一 18:00');
  });

  it('fires once across a restart', async () => {
    const due = '2026-12-07T18:00:00+08:00';
    const setup = await setUp(new Date(Date.parse(due) - 2 * 3_600_000 - 1500).toISOString(), 'CRESTART');
    await setup.store.add('2026-W50', draft(due), 'ULINA');

    // The first process schedules and stops before the reminder is due.
    const first = await setup.startProcess();
    await first.close();

    // The restarted process schedules the same ids again and delivers the reminder.
    const second = await setup.startProcess();
    const delayed = await second.queue.getDelayed();
    expect(delayed.filter((job) => (job.data as ReminderJobData).kind === 'before_2h')).toHaveLength(1);

    const jobId = reminderJobId({ week: '2026-W50', number: '2.2', kind: 'before_2h', at: iso('2026-12-07T16:00:00+08:00'), due: iso(due) });
    await waitForCompleted(second.queue, jobId);
    expect(postsTo('CRESTART')).toHaveLength(1);

    // A third start after the reminder fired adds nothing that would post again.
    const third = await setup.startProcess();
    await third.syncReminders();
    expect(await third.queue.getJobState(jobId)).toBe('completed');
    expect(postsTo('CRESTART')).toHaveLength(1);
  });

  it('fires once with two processes', async () => {
    const due = '2026-12-07T18:00:00+08:00';
    const setup = await setUp(new Date(Date.parse(due) - 2 * 3_600_000 - 1000).toISOString(), 'CTWO');
    await setup.store.add('2026-W50', draft(due), 'ULINA');

    const first = await setup.startProcess();
    const second = await setup.startProcess();
    const delayed = (await first.queue.getDelayed()).filter((job) => job.data.type === 'reminder');
    expect(delayed.map((job) => (job.data as ReminderJobData).kind).sort()).toEqual(['before_2h', 'due']);
    expect(await first.queue.getJobSchedulersCount()).toBe(2);

    const jobId = reminderJobId({ week: '2026-W50', number: '2.2', kind: 'before_2h', at: iso('2026-12-07T16:00:00+08:00'), due: iso(due) });
    await waitForCompleted(second.queue, jobId);
    expect(postsTo('CTWO')).toHaveLength(1);
  });

  it('posts once when delivered twice', async () => {
    const due = '2026-12-07T18:00:00+08:00';
    const setup = await setUp('2026-12-07T16:00:00+08:00', 'CTWICE');
    await setup.store.add('2026-W50', draft(due), 'ULINA');
    const jobs = await setup.startProcess({ worker: false });

    const data: ReminderJobData = { type: 'reminder', week: '2026-W50', number: '2.2', kind: 'before_2h', at: iso('2026-12-07T16:00:00+08:00'), due: iso(due) };
    await Promise.all([jobs.process({ id: 'a', data }), jobs.process({ id: 'b', data })]);
    expect(postsTo('CTWICE')).toHaveLength(1);
  });

  it('skips done and rescheduled items', async () => {
    const due = '2026-12-07T18:00:00+08:00';
    const setup = await setUp('2026-12-07T16:00:00+08:00', 'CSKIP');
    await setup.store.add('2026-W50', draft(due, '1'), 'ULINA');
    await setup.store.add('2026-W50', draft(due, '2'), 'ULINA');
    await setup.store.update({ week: '2026-W50', number: '1' }, (item) => ({ ...item, status: 'done' }));
    await setup.store.update({ week: '2026-W50', number: '2' }, (item) => ({ ...item, due: iso('2026-12-08T18:00:00+08:00') }));
    const jobs = await setup.startProcess({ worker: false });

    for (const number of ['1', '2']) {
      await jobs.process({ id: number, data: { type: 'reminder', week: '2026-W50', number, kind: 'due', at: iso(due), due: iso(due) } });
    }
    expect(postsTo('CSKIP')).toEqual([]);
  });

  it('due reminder schedules overdue notices', async () => {
    const due = '2026-12-04T18:00:00+08:00';
    const setup = await setUp('2026-12-04T18:00:00+08:00', 'COVERDUE');
    await setup.store.add('2026-W49', draft(due), 'ULINA');
    const jobs = await setup.startProcess({ worker: false });

    await jobs.process({ id: 'due', data: { type: 'reminder', week: '2026-W49', number: '2.2', kind: 'due', at: iso(due), due: iso(due) } });
    expect(postsTo('COVERDUE')[0]).toContain('已到截止时间');

    // The next working morning after Friday evening is Monday 09:30.
    const overdue = (await jobs.queue.getDelayed()).map((job) => job.data as ReminderJobData).filter((data) => data.kind === 'overdue');
    expect(overdue.map((data) => data.at)).toEqual([iso('2026-12-07T09:30:00+08:00')]);

    setup.clock.set('2026-12-07T09:30:00+08:00');
    await jobs.process({ id: 'overdue', data: overdue[0]! });
    const notice = postsTo('COVERDUE')[1];
    expect(notice).toContain('已逾期 2 天 15 小时 30 分');
    expect(notice).toContain('还没有开始');
  });

  it('past-due item gets an overdue notice at start', async () => {
    const setup = await setUp('2026-12-08T11:00:00+08:00', 'CLATE');
    await setup.store.add(weekKeyOf(new Date('2026-12-07T18:00:00+08:00'), 'Asia/Shanghai'), draft('2026-12-07T18:00:00+08:00'), 'ULINA');
    const jobs = await setup.startProcess({ worker: false });

    const delayed = (await jobs.queue.getDelayed()).map((job) => job.data as ReminderJobData);
    expect(delayed.map((data) => [data.kind, data.at])).toEqual([['overdue', iso('2026-12-09T09:30:00+08:00')]]);
  });
});
