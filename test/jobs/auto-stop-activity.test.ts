import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ManualClock } from '../../src/jobs/clock.js';
import { deallocatedHours, startOfTeamWeek, VmActivityStore, type PowerEvent } from '../../src/jobs/vm-activity.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

const at = (iso: string): Date => new Date(iso);
const event = (kind: PowerEvent['kind'], iso: string): PowerEvent => ({ kind, at: at(iso), by: 'test' });

describe('startOfTeamWeek', () => {
  it('is Monday midnight in Shanghai', () => {
    // Sunday 23:30 UTC is Monday 07:30 in Shanghai.
    expect(startOfTeamWeek(at('2026-12-06T23:30:00Z'), 'Asia/Shanghai').toISOString()).toBe('2026-12-06T16:00:00.000Z');
  });

  it('keeps Sunday in the previous week', () => {
    expect(startOfTeamWeek(at('2026-12-06T15:00:00Z'), 'Asia/Shanghai').toISOString()).toBe('2026-11-29T16:00:00.000Z');
  });
});

describe('deallocatedHours', () => {
  const from = at('2026-12-07T00:00:00+08:00');
  const to = at('2026-12-09T00:00:00+08:00');

  it('sums deallocated intervals', () => {
    const events = [
      event('deallocated', '2026-12-07T20:00:00+08:00'),
      event('started', '2026-12-08T08:00:00+08:00'),
      event('deallocated', '2026-12-08T22:00:00+08:00'),
    ];
    expect(deallocatedHours(undefined, events, from, to)).toBe(14);
  });

  it('counts a deallocation before the week from Monday', () => {
    const before = event('deallocated', '2026-12-05T12:00:00+08:00');
    const events = [event('started', '2026-12-07T09:00:00+08:00')];
    expect(deallocatedHours(before, events, from, to)).toBe(9);
  });

  it('ignores a start before the week', () => {
    expect(deallocatedHours(event('started', '2026-12-05T12:00:00+08:00'), [], from, to)).toBe(0);
  });
});

describe('VmActivityStore', () => {
  let redis: TestRedis;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });

  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  it('markActive keeps the latest time', async () => {
    const store = new VmActivityStore(client, uniquePrefix('activity'));
    await store.markActive('yanshi', at('2026-12-07T10:00:00Z'));
    await store.markActive('yanshi', at('2026-12-07T09:00:00Z'));
    expect((await store.lastActiveAt('yanshi'))?.toISOString()).toBe('2026-12-07T10:00:00.000Z');
    expect(await store.lastActiveAt('xunlian')).toBeUndefined();
  });

  it('takeWarning checks the warning id', async () => {
    const store = new VmActivityStore(client, uniquePrefix('activity'));
    const warning = { id: 'w1', channel: 'C1', ts: '1.2', deallocateAt: '2026-12-07T10:10:00Z', idleSince: '2026-12-07T09:00:00Z' };
    expect(await store.setWarning('yanshi', warning)).toBe(true);
    expect(await store.setWarning('yanshi', { ...warning, id: 'w2' })).toBe(false);

    expect(await store.takeWarning('yanshi', 'other')).toBeUndefined();
    expect(await store.takeWarning('yanshi', 'w1')).toEqual(warning);
    expect(await store.takeWarning('yanshi', 'w1')).toBeUndefined();
  });

  it('hoursDeallocated reads recorded events', async () => {
    const store = new VmActivityStore(client, uniquePrefix('activity'));
    const clock = new ManualClock('2026-12-08T12:00:00+08:00');
    await store.recordPowerEvent('xunlian', event('deallocated', '2026-12-04T18:00:00+08:00'));
    await store.recordPowerEvent('xunlian', event('started', '2026-12-07T10:00:00+08:00'));
    await store.recordPowerEvent('xunlian', event('deallocated', '2026-12-08T10:00:00+08:00'));

    const monday = startOfTeamWeek(clock.now(), 'Asia/Shanghai');
    expect(await store.hoursDeallocated('xunlian', monday, clock.now())).toBe(12);
  });
});
