import { describe, expect, it } from 'vitest';

import { escalationOrder, resolveOncall, type OncallConfig } from '../../src/jobs/oncall-rotation.js';

const oncall: OncallConfig = {
  rotation: ['UALICE', 'UBOB', 'UCAROL'],
  handoverWeekday: 1,
  handoverTime: '10:00',
  rotationStart: '2026-01-05',
  ackMinutes: 15,
};

describe('resolveOncall', () => {
  it('starts with rotation[0]', () => {
    // 2026-01-05 is a Monday; 10:00 in Shanghai is 02:00 UTC.
    const state = resolveOncall(oncall, 'Asia/Shanghai', new Date('2026-01-05T02:00:00Z'));
    expect(state.current).toBe('UALICE');
    expect(state.next).toBe('UBOB');
    expect(state.handoverAt.toISOString()).toBe('2026-01-05T02:00:00.000Z');
    expect(state.nextHandoverAt.toISOString()).toBe('2026-01-12T02:00:00.000Z');
  });

  it('keeps the old person until the hand-over minute', () => {
    const state = resolveOncall(oncall, 'Asia/Shanghai', new Date('2026-01-12T01:59:59Z'));
    expect(state.current).toBe('UALICE');
  });

  it('hands over at the hand-over time', () => {
    const state = resolveOncall(oncall, 'Asia/Shanghai', new Date('2026-01-12T02:00:00Z'));
    expect(state.current).toBe('UBOB');
    expect(state.next).toBe('UCAROL');
  });

  it('wraps around the rotation', () => {
    const state = resolveOncall(oncall, 'Asia/Shanghai', new Date('2026-01-20T00:00:00Z'));
    expect(state.current).toBe('UCAROL');
    expect(state.next).toBe('UALICE');
    const later = resolveOncall(oncall, 'Asia/Shanghai', new Date('2026-01-27T00:00:00Z'));
    expect(later.current).toBe('UALICE');
  });

  it('works before rotationStart', () => {
    const state = resolveOncall(oncall, 'Asia/Shanghai', new Date('2026-01-01T00:00:00Z'));
    expect(state.current).toBe('UCAROL');
  });

  it('uses the local weekday, not UTC', () => {
    // Monday 2026-01-12 09:30 in Shanghai (01:30 UTC) is before the 10:00 hand-over.
    const before = resolveOncall(oncall, 'Asia/Shanghai', new Date('2026-01-12T01:30:00Z'));
    expect(before.current).toBe('UALICE');
    // Sunday 2026-01-11 20:00 UTC is Monday 04:00 in Shanghai, still before the hand-over.
    const sunday = resolveOncall(oncall, 'Asia/Shanghai', new Date('2026-01-11T20:00:00Z'));
    expect(sunday.current).toBe('UALICE');
  });

  it('keeps the hand-over hour across daylight saving', () => {
    const berlin: OncallConfig = { ...oncall, handoverWeekday: 1, rotationStart: '2026-03-23' };
    // Berlin switches to summer time on Sunday 2026-03-29; Monday 10:00 is then 08:00 UTC.
    const state = resolveOncall(berlin, 'Europe/Berlin', new Date('2026-03-30T08:00:00Z'));
    expect(state.current).toBe('UBOB');
    expect(state.handoverAt.toISOString()).toBe('2026-03-30T08:00:00.000Z');
    const before = resolveOncall(berlin, 'Europe/Berlin', new Date('2026-03-30T07:59:00Z'));
    expect(before.current).toBe('UALICE');
  });

  it('honours a hand-over on another weekday', () => {
    const friday: OncallConfig = { ...oncall, handoverWeekday: 5, handoverTime: '18:00', rotationStart: '2026-01-09' };
    const state = resolveOncall(friday, 'Asia/Shanghai', new Date('2026-01-16T10:00:00Z'));
    expect(state.current).toBe('UBOB');
    expect(state.handoverAt.toISOString()).toBe('2026-01-16T10:00:00.000Z');
  });

  it('applies an override until it expires', () => {
    const override = { userId: 'UDAVE', setBy: 'UALICE', setAt: '2026-01-06T00:00:00Z', until: '2026-01-12T02:00:00.000Z' };
    const during = resolveOncall(oncall, 'Asia/Shanghai', new Date('2026-01-07T00:00:00Z'), override);
    expect(during.current).toBe('UDAVE');
    expect(during.scheduled).toBe('UALICE');
    expect(during.override).not.toBeNull();
    const after = resolveOncall(oncall, 'Asia/Shanghai', new Date('2026-01-12T02:00:00Z'), override);
    expect(after.current).toBe('UBOB');
    expect(after.override).toBeNull();
  });

  it('returns nobody for an empty rotation', () => {
    const state = resolveOncall({ ...oncall, rotation: [] }, 'Asia/Shanghai', new Date('2026-01-07T00:00:00Z'));
    expect(state.current).toBeNull();
    expect(state.next).toBeNull();
  });
});

describe('escalationOrder', () => {
  it('pages current then the rest of the rotation', () => {
    const state = resolveOncall(oncall, 'Asia/Shanghai', new Date('2026-01-13T00:00:00Z'));
    expect(escalationOrder(oncall, state)).toEqual(['UBOB', 'UCAROL', 'UALICE']);
  });

  it('puts an override first without repeats', () => {
    const override = { userId: 'UCAROL', setBy: 'UBOB', setAt: '2026-01-13T00:00:00Z', until: '2026-01-19T02:00:00.000Z' };
    const state = resolveOncall(oncall, 'Asia/Shanghai', new Date('2026-01-13T00:00:00Z'), override);
    expect(escalationOrder(oncall, state)).toEqual(['UCAROL', 'UALICE', 'UBOB']);
  });
});
