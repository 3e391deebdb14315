import { describe, expect, it } from 'vitest';

import { translator } from '../../src/bot/i18n.js';
import { formatDataWarning, readDataWarning } from '../../src/jobs/run-data-warning.js';
import type { TrainerEvent } from '../../src/jobs/run-progress.js';

/** Builds a start event whose `data_report` has the given counts, shaped as check-data prints it. */
function startEvent(report: Record<string, unknown>, trainRows?: number): TrainerEvent {
  return {
    type: 'start',
    time: '2026-12-07T09:00:00+08:00',
    model: 'tiny-random-phi3',
    world_size: 1,
    max_steps: 20,
    ...(trainRows !== undefined ? { train_rows: trainRows } : {}),
    data_report: { report_version: 1, tokens: { max_length: 128 }, length_policy: 'drop', ...report },
  };
}

const key = 'run:1:data:a1';

describe('readDataWarning', () => {
  it('reads rows dropped for length', () => {
    const item = readDataWarning(startEvent({ rows: 40, valid_rows: 40, kept_rows: 4, dropped: { over_max_length: 36 } }, 4), key);
    expect(item).toEqual({ key, type: 'data_warning', rows: 40, invalid: 0, dropped: { over_max_length: 36 }, trainRows: 4, maxLength: 128 });
  });

  it('reads invalid rows', () => {
    const item = readDataWarning(startEvent({ rows: 12, valid_rows: 10, kept_rows: 10, dropped: {} }, 10), key);
    expect(item?.invalid).toBe(2);
    expect(item?.dropped).toEqual({});
  });

  it('falls back to kept_rows without train_rows', () => {
    expect(readDataWarning(startEvent({ rows: 40, valid_rows: 40, kept_rows: 4, dropped: { over_max_length: 36 } }), key)?.trainRows).toBe(4);
  });

  it('returns nothing when every row is used', () => {
    expect(readDataWarning(startEvent({ rows: 40, valid_rows: 40, kept_rows: 40, dropped: {} }, 40), key)).toBeUndefined();
  });

  it('ignores zero counts', () => {
    expect(readDataWarning(startEvent({ rows: 40, valid_rows: 40, kept_rows: 40, dropped: { over_max_length: 0 } }, 40), key)).toBeUndefined();
  });

  it.each([
    ['no report', undefined],
    ['a report that is not an object', 'ok'],
    ['a report without rows', { dropped: { over_max_length: 3 } }],
  ])('returns nothing for %s', (_name, report) => {
    expect(readDataWarning({ type: 'start', train_rows: 4, data_report: report }, key)).toBeUndefined();
  });
});

describe('formatDataWarning', () => {
  const overLength = readDataWarning(startEvent({ rows: 40, valid_rows: 40, kept_rows: 4, dropped: { over_max_length: 36 } }, 4), key)!;

  it('names rows dropped for length', () => {
    expect(formatDataWarning(overLength, translator('zh-CN'))).toBe(
      '⚠️ 训练数据 40 行，其中 36 行超过最大长度 128 被丢弃，实际用 4 行训练。调高配方的 `max_length`（现为 128）或设置 `overlength: truncate` 可以保留这些行。',
    );
    expect(formatDataWarning(overLength, translator('en'))).toBe(
      "⚠️ Of 40 training rows, 36 dropped as longer than the max length of 128 tokens; training uses 4 rows. Raise the recipe's `max_length` (now 128) or set `overlength: truncate` to keep them.",
    );
  });

  it('lists invalid and every dropped reason', () => {
    const item = readDataWarning(
      startEvent({ rows: 50, valid_rows: 45, kept_rows: 38, dropped: { prompt_over_max_length: 2, no_learnable_tokens: 4, unreadable: 1 } }, 38),
      key,
    )!;
    expect(formatDataWarning(item, translator('zh-CN'))).toBe(
      '⚠️ 训练数据 50 行，其中 5 行无效（缺少字段或格式不对），2 行的提示部分就超过最大长度 128 被丢弃，4 行没有可训练的回答被丢弃，1 行被丢弃（unreadable），实际用 38 行训练。',
    );
    expect(formatDataWarning(item, translator('en'))).toBe(
      '⚠️ Of 50 training rows, 5 invalid (a missing field or a wrong format), 2 dropped because the prompt alone exceeds the max length of 128 tokens, 4 dropped with no answer tokens to learn, 1 dropped (unreadable); training uses 38 rows.',
    );
  });

  it('leaves out the used rows when unknown', () => {
    expect(formatDataWarning({ key, type: 'data_warning', rows: 12, invalid: 2, dropped: {} }, translator('zh-CN'))).toBe(
      '⚠️ 训练数据 12 行，其中 2 行无效（缺少字段或格式不对）。',
    );
  });
});
