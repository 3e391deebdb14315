/**
 * The Slack text of check-data reports on RL data (preference and prompt rows), from
 * reports shaped like the trainer's `check-data --json` output, in both locales.
 */
import { describe, expect, it } from 'vitest';

import { translator } from '../../src/bot/i18n.js';
import type { Locale } from '../../src/config/schema.js';
import { formatDatasetReport, type CheckDataReport, type TokenLengths } from '../../src/jobs/dataset-report.js';

function lengths(p50: number, max: number, over = 0): TokenLengths {
  return { tokenizer: 'tiny-random-phi3', max_length: 200, p50, p90: max, p95: max, p99: max, max, over_max_length: over, first_rows_over_max_length: over > 0 ? [2] : [] };
}

const PREFERENCE: CheckDataReport = {
  report_version: 1,
  path: 'pairs.jsonl',
  ok: false,
  file_type: 'jsonl',
  format: 'preference',
  encoding: 'utf-8',
  warnings: [],
  rows: 7,
  valid_rows: 4,
  problems: [
    { kind: 'identical_pair', field: 'chosen', count: 1, first_rows: [2], message: 'rows whose `chosen` and `rejected` are identical' },
    { kind: 'missing_field', field: 'rejected', count: 1, first_rows: [3], message: 'rows without `rejected`' },
  ],
  duplicates: { exact: 1, near: 0, first_exact: [[5, 1]], first_near: [] },
  tokens: { ...lengths(60, 320, 1), measure: 'prompt+chosen or prompt+rejected, whichever is longer' },
  pair_tokens: { chosen: lengths(58, 320, 1), rejected: lengths(52, 90) },
};

const PROMPTS: CheckDataReport = {
  report_version: 1,
  path: 'prompts.jsonl',
  ok: true,
  file_type: 'jsonl',
  format: 'prompt',
  encoding: 'utf-8',
  warnings: [],
  rows: 4,
  valid_rows: 4,
  problems: [],
  duplicates: { exact: 0, near: 0, first_exact: [], first_near: [] },
  tokens: { ...lengths(46, 47), measure: 'prompt' },
  references: { required: false, missing: 2, first_rows: [2, 3] },
};

/** Formats `report` in `locale` and checks that the text contains each of `lines`. */
function expectReportLines(report: CheckDataReport, locale: Locale, lines: readonly string[]): void {
  const text = formatDatasetReport(report, undefined, translator(locale));
  for (const line of lines) expect(text).toContain(line);
}

describe('dataset report of preference rows', () => {
  it('lists identical pairs and both pair lengths in English', () => {
    expectReportLines(PREFERENCE, 'en', [
      '• Rows whose `chosen` and `rejected` are identical: 1; first: 2',
      '• Rows missing field `rejected`: 1; first: 3',
      '• Token lengths (tiny-random-phi3): p50 60, p90 320, p99 320, max 320',
      '  · prompt+chosen: p50 58, p99 320, max 320, over the maximum length: 1',
      '  · prompt+rejected: p50 52, p99 90, max 90, over the maximum length: 0',
      '3 kinds of problems found.',
    ]);
  });

  it('lists identical pairs and both pair lengths in Chinese', () => {
    expectReportLines(PREFERENCE, 'zh-CN', [
      '• `chosen` 与 `rejected` 相同 1 行，首个问题行：2',
      '  · prompt+chosen：p50 58，p99 320，最大 320，超过最大长度 1 行',
      '  · prompt+rejected：p50 52，p99 90，最大 90，超过最大长度 0 行',
    ]);
  });
});

describe('dataset report of prompt rows', () => {
  it('counts rows without a reference as information', () => {
    expectReportLines(PROMPTS, 'en', [
      '• Rows without a reference answer (`answer`): 2 (first: 2, 3). Only the answer and judge rewards need one.',
      '• Prompt token lengths (tiny-random-phi3): p50 46, p90 47, p99 47, max 47',
      'No problems found.',
    ]);
    expectReportLines(PROMPTS, 'zh-CN', [
      '• 没有参考答案（`answer`）的行：2（首个：2, 3）。只有 answer 和 judge 奖励需要参考答案。',
      '• 提示词元长度（tiny-random-phi3）：p50 46，p90 47，p99 47，最大 47',
    ]);
  });

  it('leaves required references to the field problems', () => {
    const report: CheckDataReport = {
      ...PROMPTS,
      ok: false,
      references: { required: true, missing: 1, first_rows: [2] },
      problems: [{ kind: 'missing_field', field: 'answer', count: 1, first_rows: [2] }],
    };

    const text = formatDatasetReport(report, undefined, translator('en'));

    expect(text).toContain('• Rows missing field `answer`: 1; first: 2');
    expect(text).not.toContain('Rows without a reference answer');
  });
});

describe('dataset report of SFT rows', () => {
  it('keeps the lengths line without a measure', () => {
    const report: CheckDataReport = { ...PROMPTS, format: 'medical-r1', tokens: lengths(100, 150), references: undefined };

    const text = formatDatasetReport(report, undefined, translator('en'));

    expect(text).toContain('• Token lengths (tiny-random-phi3): p50 100, p90 150, p99 150, max 150');
    expect(text).not.toContain('prompt+');
  });
});
