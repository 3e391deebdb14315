import { describe, expect, it } from 'vitest';

import { parseDue, type DueOptions } from '../../src/commands/plan-dates.js';
import { formatDue, shiftWeek, weekKeyOf, weekStart } from '../../src/commands/plan-week.js';

// Monday 30 November 2026, 09:00 in Shanghai: the team writes its plan now.
const SHANGHAI: DueOptions = { now: new Date('2026-11-30T09:00:00+08:00'), timeZone: 'Asia/Shanghai', dueHour: 18 };

const SHANGHAI_CASES: ReadonlyArray<[string, string]> = [
  ['周一', '2026-11-30T18:00:00+08:00'],
  ['周一内完成', '2026-11-30T18:00:00+08:00'],
  ['周一完成', '2026-11-30T18:00:00+08:00'],
  ['星期三 18:00', '2026-12-02T18:00:00+08:00'],
  ['星期三18:30', '2026-12-02T18:30:00+08:00'],
  ['礼拜五', '2026-12-04T18:00:00+08:00'],
  ['周日', '2026-12-06T18:00:00+08:00'],
  ['周天', '2026-12-06T18:00:00+08:00'],
  ['本周四', '2026-12-03T18:00:00+08:00'],
  ['今天', '2026-11-30T18:00:00+08:00'],
  ['明天', '2026-12-01T18:00:00+08:00'],
  ['后天', '2026-12-02T18:00:00+08:00'],
  ['明天下午3点', '2026-12-01T15:00:00+08:00'],
  ['周三 晚上8点半', '2026-12-02T20:30:00+08:00'],
  ['周三 上午10点', '2026-12-02T10:00:00+08:00'],
  ['下周二', '2026-12-08T18:00:00+08:00'],
  ['下下周一', '2026-12-14T18:00:00+08:00'],
  ['12月8日', '2026-12-08T18:00:00+08:00'],
  ['12月8号 10:00', '2026-12-08T10:00:00+08:00'],
  ['1月5日', '2027-01-05T18:00:00+08:00'],
  ['2026-12-08 18:00', '2026-12-08T18:00:00+08:00'],
  ['2026/12/8', '2026-12-08T18:00:00+08:00'],
  ['2026年12月9日', '2026-12-09T18:00:00+08:00'],
  ['周二、三', '2026-12-02T18:00:00+08:00'],
  ['周二、三完成', '2026-12-02T18:00:00+08:00'],
  ['周三、四完成', '2026-12-03T18:00:00+08:00'],
  ['周二、周三', '2026-12-02T18:00:00+08:00'],
  ['周二至周三', '2026-12-02T18:00:00+08:00'],
  ['周二到周三', '2026-12-02T18:00:00+08:00'],
  ['周五到周一', '2026-12-07T18:00:00+08:00'],
  ['18:00', '2026-11-30T18:00:00+08:00'],
  ['monday', '2026-11-30T18:00:00+08:00'],
  ['Wed 18:00', '2026-12-02T18:00:00+08:00'],
  ['by friday 5pm', '2026-12-04T17:00:00+08:00'],
  ['next tuesday', '2026-12-08T18:00:00+08:00'],
  ['tomorrow', '2026-12-01T18:00:00+08:00'],
  ['tomorrow 6pm', '2026-12-01T18:00:00+08:00'],
  ['tue-wed', '2026-12-02T18:00:00+08:00'],
  ['Tuesday to Wednesday', '2026-12-02T18:00:00+08:00'],
  ['Dec 8', '2026-12-08T18:00:00+08:00'],
  ['Dec 8 6pm', '2026-12-08T18:00:00+08:00'],
  ['December 9th 2026 10:30', '2026-12-09T10:30:00+08:00'],
];

describe('parseDue in Asia/Shanghai', () => {
  it.each(SHANGHAI_CASES)('%s', (phrase, expected) => {
    const reading = parseDue(phrase, SHANGHAI);
    expect(reading.ok ? reading.due.toISOString() : reading).toBe(new Date(expected).toISOString());
  });

  it('range starts on its first day', () => {
    const reading = parseDue('周二、三', SHANGHAI);
    expect(reading.ok && reading.rangeStart?.toISOString()).toBe(new Date('2026-12-01T00:00:00+08:00').toISOString());
  });

  it('uses the configured due hour', () => {
    const reading = parseDue('周二', { ...SHANGHAI, dueHour: 20 });
    expect(reading.ok && reading.due.toISOString()).toBe(new Date('2026-12-01T20:00:00+08:00').toISOString());
  });
});

describe('parseDue errors', () => {
  const friday: DueOptions = { ...SHANGHAI, now: new Date('2026-12-04T10:00:00+08:00') };

  it('past weekday suggests next week', () => {
    const reading = parseDue('周一', friday);
    expect(reading.ok).toBe(false);
    if (reading.ok) return;
    expect(reading.reason).toBe('past');
    expect(reading.suggestion).toBe('下周一');
    expect(reading.readAs?.toISOString()).toBe(new Date('2026-11-30T18:00:00+08:00').toISOString());
  });

  it('past English weekday suggests next week', () => {
    const reading = parseDue('monday', friday);
    expect(!reading.ok && reading.suggestion).toBe('next monday');
  });

  it('past range suggests next week', () => {
    const reading = parseDue('周二、三', friday);
    expect(!reading.ok && reading.suggestion).toBe('下周二、三');
  });

  it('past weekday accepted when allowed', () => {
    const reading = parseDue('周一', { ...friday, allowPast: true });
    expect(reading.ok && reading.due.toISOString()).toBe(new Date('2026-11-30T18:00:00+08:00').toISOString());
  });

  it('hour without 上午 or 下午 is ambiguous', () => {
    const reading = parseDue('周三 6点', SHANGHAI);
    expect(!reading.ok && reading.reason).toBe('ambiguous');
    expect(!reading.ok && reading.readAs?.toISOString()).toBe(new Date('2026-12-02T06:00:00+08:00').toISOString());
  });

  it('English hour without am or pm is ambiguous', () => {
    const reading = parseDue('wed 6', SHANGHAI);
    expect(!reading.ok && reading.reason).toBe('ambiguous');
  });

  it('nonexistent day is invalid', () => {
    const reading = parseDue('2月30日', SHANGHAI);
    expect(!reading.ok && reading.reason).toBe('invalid_date');
  });

  it.each(['周八', '随便什么时候', '周三 随便', ''])('%s is unrecognized', (phrase) => {
    const reading = parseDue(phrase, SHANGHAI);
    expect(!reading.ok && reading.reason).toBe('unrecognized');
  });
});

describe('parseDue across daylight-saving changes', () => {
  const zone = 'America/New_York';

  // Monday 2 March 2026; clocks go forward on Sunday 8 March at 02:00.
  const beforeSpring: DueOptions = { now: new Date('2026-03-02T09:00:00-05:00'), timeZone: zone, dueHour: 18 };
  // Monday 26 October 2026; clocks go back on Sunday 1 November at 02:00.
  const beforeFall: DueOptions = { now: new Date('2026-10-26T09:00:00-04:00'), timeZone: zone, dueHour: 18 };

  const cases: ReadonlyArray<[string, DueOptions, string]> = [
    ['周五', beforeSpring, '2026-03-06T18:00:00-05:00'],
    ['下周一', beforeSpring, '2026-03-09T18:00:00-04:00'],
    ['周日 10:00', beforeSpring, '2026-03-08T10:00:00-04:00'],
    ['周六、日', beforeSpring, '2026-03-08T18:00:00-04:00'],
    ['next monday', beforeSpring, '2026-03-09T18:00:00-04:00'],
    ['2026-03-08 01:30', beforeSpring, '2026-03-08T01:30:00-05:00'],
    ['周五', beforeFall, '2026-10-30T18:00:00-04:00'],
    ['下周一', beforeFall, '2026-11-02T18:00:00-05:00'],
    ['周日 10:00', beforeFall, '2026-11-01T10:00:00-05:00'],
    ['Nov 2', beforeFall, '2026-11-02T18:00:00-05:00'],
    ['11月3日 09:00', beforeFall, '2026-11-03T09:00:00-05:00'],
  ];

  it.each(cases)('%s', (phrase, options, expected) => {
    const reading = parseDue(phrase, options);
    expect(reading.ok ? reading.due.toISOString() : reading).toBe(new Date(expected).toISOString());
  });
});

describe('plan weeks', () => {
  it('week key is the ISO week in the zone', () => {
    // Sunday 23:30 in Shanghai is still week 48 there, though Monday has begun further east.
    expect(weekKeyOf(new Date('2026-11-29T23:30:00+08:00'), 'Asia/Shanghai')).toBe('2026-W48');
    expect(weekKeyOf(new Date('2026-11-30T00:10:00+08:00'), 'Asia/Shanghai')).toBe('2026-W49');
  });

  it('week start is Monday midnight', () => {
    expect(weekStart('2026-W49', 'Asia/Shanghai').getTime()).toBe(Date.parse('2026-11-30T00:00:00+08:00'));
    expect(weekStart('2026-W45', 'America/New_York').getTime()).toBe(Date.parse('2026-11-02T00:00:00-05:00'));
  });

  it('shifts across a year end', () => {
    expect(shiftWeek('2026-W53', 1, 'Asia/Shanghai')).toBe('2027-W01');
    expect(shiftWeek('2027-W01', -1, 'Asia/Shanghai')).toBe('2026-W53');
  });

  it('formats in both locales', () => {
    const due = new Date('2026-12-02T18:00:00+08:00');
    expect(formatDue(due, 'Asia/Shanghai', 'zh-CN')).toBe('12月2日 周三 18:00');
    expect(formatDue(due, 'Asia/Shanghai', 'en')).toBe('Wed Dec 2 18:00');
  });
});
