import { TZDate } from '@date-fns/tz';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { translator } from '../../src/bot/i18n.js';
import type { PlanItem } from '../../src/commands/plan-types.js';
import { ManualClock } from '../../src/jobs/clock.js';
import { buildDigest, DIGEST_SCHEDULER_IDS } from '../../src/jobs/plan-digest.js';
import { PlanStore } from '../../src/jobs/plan-store.js';
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
const FRIDAY_AFTERNOON = new Date('2026-12-04T17:00:00+08:00');

function item(number: string, fields: Partial<PlanItem>): PlanItem {
  return {
    number,
    title: `item ${number}`,
    due: iso('2026-11-30T18:00:00+08:00'),
    dueText: '周一',
    kind: 'train',
    week: '2026-W49',
    status: 'todo',
    createdAt: iso('2026-11-30T09:00:00+08:00'),
    createdBy: 'ULINA',
    updatedAt: iso('2026-11-30T09:00:00+08:00'),
    runIds: [],
    ...fields,
  };
}

const WEEK_ITEMS: PlanItem[] = [
  item('1', { title: '部署 Phi4', owner: 'UWANG', status: 'done', doneAt: iso('2026-11-30T17:00:00+08:00') }),
  item('2.1', { title: '训练并部署医疗 phi4', owner: 'UCHEN', status: 'done', doneAt: iso('2026-12-01T11:30:00+08:00') }),
  item('2.3', { title: '完成训练 phi3.5 moe', owner: 'ULINA', status: 'in_progress', due: iso('2026-12-02T18:00:00+08:00') }),
  item('3', { title: '处理数据集', due: iso('2026-12-06T18:00:00+08:00') }),
];

describe('buildDigest', () => {
  const options = { week: '2026-W49', items: WEEK_ITEMS, now: FRIDAY_AFTERNOON, timeZone: 'Asia/Shanghai', locale: 'zh-CN' as const, t: translator('zh-CN') };

  it('friday lists done and slipped', () => {
    const digest = buildDigest({ ...options, kind: 'friday' });
    expect(digest.text).toContain('*已完成*（2）');
    expect(digest.text).toContain('• 1 部署 Phi4（<@UWANG>）');
    expect(digest.text).toContain('• 2.1 训练并部署医疗 phi4（<@UCHEN>）晚了 17 小时 30 分');
    expect(digest.text).toContain('*未按时完成*（1）');
    expect(digest.text).toContain('• 2.3 完成训练 phi3.5 moe（<@ULINA>）截止 12月2日 周三 18:00，已晚 1 天 23 小时');
    expect(digest.text).toContain('*还没到截止时间*（1）');
    expect(digest.text).toContain('• 3 处理数据集（未指定负责人）截止 12月6日 周日 18:00');
  });

  it('monday shows the plan table', () => {
    const digest = buildDigest({ ...options, kind: 'monday', now: new Date('2026-11-30T09:30:00+08:00') });
    expect(digest.text.split('\n')[0]).toContain('本周计划 2026-W49');
    expect(digest.blocks.some((block) => block.type === 'table')).toBe(true);
  });

  it('friday of an empty week', () => {
    const digest = buildDigest({ ...options, items: [], kind: 'friday' });
    expect(digest.text).toContain('这周没有计划项。');
  });

  it('english friday review', () => {
    const digest = buildDigest({ ...options, kind: 'friday', locale: 'en', t: translator('en') });
    expect(digest.text).toContain('*Slipped* (1)');
    expect(digest.text).toContain('17 h 30 min late');
  });
});

describe('PlanJobs digest', () => {
  it.each(['Asia/Shanghai', 'America/New_York'])('two processes share schedulers in %s', async (timezone) => {
    const prefix = uniquePrefix('digest');
    const config = planTestConfig(timezone, 'CDIGEST');
    const clock = new ManualClock(FRIDAY_AFTERNOON);
    const first = await harness.startProcess({ prefix, config, clock });
    await harness.startProcess({ prefix, config, clock });

    expect(await first.queue.getJobSchedulersCount()).toBe(2);
    const monday = await first.queue.getJobScheduler(DIGEST_SCHEDULER_IDS.monday);
    const friday = await first.queue.getJobScheduler(DIGEST_SCHEDULER_IDS.friday);
    expect(monday?.tz).toBe(timezone);

    // The next runs are Monday 09:30 and Friday 17:00 on the team's wall clock.
    const nextMonday = new TZDate(Number(monday?.next), timezone);
    expect([nextMonday.getDay(), nextMonday.getHours(), nextMonday.getMinutes()]).toEqual([1, 9, 30]);
    const nextFriday = new TZDate(Number(friday?.next), timezone);
    expect([nextFriday.getDay(), nextFriday.getHours(), nextFriday.getMinutes()]).toEqual([5, 17, 0]);
  });

  it('posts the friday review once', async () => {
    const prefix = uniquePrefix('digest');
    const clock = new ManualClock(FRIDAY_AFTERNOON);
    const jobs = await harness.startProcess({ prefix, config: planTestConfig('Asia/Shanghai', 'CREVIEW'), clock });
    const store = new PlanStore(harness.connect(), prefix, clock);
    for (const entry of WEEK_ITEMS) {
      const { week: _week, status: _status, createdAt: _createdAt, createdBy: _createdBy, updatedAt: _updatedAt, runIds: _runIds, doneAt: _doneAt, ...draft } = entry;
      await store.add('2026-W49', draft, 'ULINA');
      if (entry.status !== 'todo') await store.update({ week: '2026-W49', number: entry.number }, (current) => ({ ...current, status: entry.status, doneAt: entry.doneAt }));
    }

    await jobs.process({ id: 'f1', data: { type: 'digest', kind: 'friday' } });
    await jobs.process({ id: 'f2', data: { type: 'digest', kind: 'friday' } });

    const posts = harness.slack.callsOf('chat.postMessage').filter((call) => call.body.channel === 'CREVIEW');
    expect(posts).toHaveLength(1);
    expect(String(posts[0]?.body.text)).toContain('*未按时完成*（1）');
    expect(String(posts[0]?.body.text)).toContain('晚了 17 小时 30 分');
  });
});
