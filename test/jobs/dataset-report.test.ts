/**
 * Data set reports for a table of good and broken files: the real trainer's
 * `check-data --json` (all files in one Python process, to load torch once) and the
 * Slack text the bot formats from each report.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { translator } from '../../src/bot/i18n.js';
import { classifyRowCount, formatDatasetReport, parseCheckDataOutput, parseTargetRows, type CheckDataReport } from '../../src/jobs/dataset-report.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const PYTHON = execFileSync('bash', [path.join(REPO, 'scripts/python-env.sh')], { encoding: 'utf8' }).trim();
const t = translator('en');

const Q = 'question';
const R = 'reasoning (reasoning_content)';
const A = 'response (content)';

function row(index: number, answer = `多喝水，注意休息，第${index}条建议。`): Record<string, string> {
  return { [Q]: `第${index}个问题：发热怎么办？`, [R]: `第${index}条推理：发热多见于感染。`, [A]: answer };
}

function jsonl(rows: unknown[]): string {
  return rows.map((entry) => (typeof entry === 'string' ? entry : JSON.stringify(entry))).join('\n') + '\n';
}

/** File name -> [content, extra check-data flags]. */
const FILES: Record<string, [string | Buffer, string[]]> = {
  'good.jsonl': [jsonl([1, 2, 3, 4, 5].map((index) => row(index))), []],
  'missing-column.jsonl': [jsonl([row(1), { [Q]: '没有回答的问题', [R]: '推理' }, row(3)]), ['--format', 'medical-r1']],
  'empty-answers.jsonl': [jsonl([row(1), row(2, ''), row(3), row(4, '   ')]), []],
  'invalid-json.jsonl': [jsonl([row(1), '{"question": "缺了括号"', row(3)]), []],
  'gbk.csv': [Buffer.from(iconvGbk(), 'latin1'), []],
  'duplicates.jsonl': [jsonl([row(1), row(2), row(1), { ...row(2), [A]: `${row(2)[A]}！！` }]), []],
  'over-length.jsonl': [jsonl([row(1), { ...row(2), [A]: '很长的回答。'.repeat(80) }, row(3)]), ['--model-max-length', '120']],
  'notes.txt': ['just some text\n', []],
  'binary.jsonl': [Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x9f, 0xe0, 0x80]), []],
};

/** A two-row medical CSV encoded as GBK, as Excel exports it on Chinese Windows. */
function iconvGbk(): string {
  const csv = `${Q},${R},${A}\n发热怎么办？,发热多见于感染。,多喝水，注意休息。\n咳嗽怎么办？,咳嗽多见于感冒。,多喝温水，必要时就医。\n`;
  return execFileSync('iconv', ['-f', 'UTF-8', '-t', 'GBK'], { input: csv }).toString('latin1');
}

describe('check-data reports', () => {
  let dir: string;
  const reports = new Map<string, CheckDataReport>();

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'trainops-data-'));
    const specs = Object.entries(FILES).map(([name, [content, flags]]) => {
      writeFileSync(path.join(dir, name), content);
      return [path.join(dir, name), '--json', '--model-max-length', '512', ...flags];
    });
    const script = 'import json, sys\nfrom trainops_trainer.cli import main\nfor spec in json.loads(sys.argv[1]):\n    main(["check-data", *spec])\n    sys.stdout.flush()\n';
    const stdout = execFileSync(PYTHON, ['-c', script, JSON.stringify(specs)], {
      cwd: path.join(REPO, 'python'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 110_000,
    });
    const lines = stdout.split('\n').filter((line) => line.startsWith('{'));
    Object.keys(FILES).forEach((name, index) => reports.set(name, parseCheckDataOutput(lines[index] ?? '')!));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function report(name: string): { report: CheckDataReport; text: string } {
    const found = reports.get(name);
    expect(found, `no report for ${name}`).toBeDefined();
    return { report: found!, text: formatDatasetReport(found!, { min: 3, max: 10 }, t) };
  }

  it('good file', () => {
    const { report: good, text } = report('good.jsonl');
    expect(good.ok).toBe(true);
    expect(text).toContain('• Rows: 5');
    expect(text).toContain('Target 3–10 rows: inside');
    expect(text).toContain('• Format: medical-r1 (jsonl, utf-8)');
    expect(text).toMatch(/Token lengths \(tiny-random-phi3\): p50 \d+, p90 \d+, p99 \d+, max \d+/);
    expect(text).toContain('Rows over the maximum length 512: 0');
    expect(text).toContain('No problems found.');
  });

  it('missing column', () => {
    const { text } = report('missing-column.jsonl');
    expect(text).toContain(`Rows missing field \`${A}\`: 1; first: 2`);
  });

  it('empty answers', () => {
    const { text } = report('empty-answers.jsonl');
    expect(text).toContain(`Rows with field \`${A}\` empty: 2; first: 2, 4`);
  });

  it('invalid JSON line', () => {
    const { report: invalid, text } = report('invalid-json.jsonl');
    expect(invalid.problems?.map((problem) => [problem.kind, problem.first_rows])).toContainEqual(['invalid_json', [2]]);
    expect(text).toContain('• Rows: 3');
    expect(text).toMatch(/: 1 \(2\)/);
  });

  it('GBK-encoded CSV', () => {
    const { report: gbk, text } = report('gbk.csv');
    expect(gbk.encoding).toMatch(/^gb/);
    expect(text).toContain('• Rows: 2');
    expect(text).toContain('Target 3–10 rows: below (1 short)');
    expect(text).toMatch(/Encoding problems: .*GB/);
  });

  it('duplicates', () => {
    const { text } = report('duplicates.jsonl');
    expect(text).toContain('Exact duplicates: 1, near duplicates: 1 (first, row=row it repeats: 3=1, 4=2)');
  });

  it('over-length rows', () => {
    const { text } = report('over-length.jsonl');
    expect(text).toContain('Rows over the maximum length 120: 1 (first: 2)');
  });

  it('unknown format fails clearly', () => {
    const { report: notes, text } = report('notes.txt');
    expect(notes.error?.type).toBe('data_error');
    expect(text).toMatch(/^Cannot check the data set: .*notes\.txt/);
  });

  it('undecodable bytes fail clearly', () => {
    const { report: binary, text } = report('binary.jsonl');
    expect(binary.error?.type).toBe('data_error');
    expect(text).toMatch(/^Cannot check the data set: /);
  });
});

describe('target rows', () => {
  it.each([
    ['处理数据集，两个方向，3k-10k 条左右', { min: 3000, max: 10000 }],
    ['3k–10k rows', { min: 3000, max: 10000 }],
    ['3-10k', { min: 3000, max: 10000 }],
    ['3000 到 10000 条', { min: 3000, max: 10000 }],
    ['5千至1万条', { min: 5000, max: 10000 }],
  ])('%s', (text, expected) => {
    expect(parseTargetRows(text)).toEqual(expected);
  });

  it('finds no range in plain titles', () => {
    expect(parseTargetRows('训练并部署医疗 phi4')).toBeUndefined();
  });

  it('classifies counts against the range', () => {
    const target = { min: 3000, max: 10000 };
    expect([2999, 3000, 10000, 10001].map((rows) => classifyRowCount(rows, target))).toEqual(['below', 'inside', 'inside', 'above']);
  });
});
