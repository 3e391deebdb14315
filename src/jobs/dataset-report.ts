/**
 * The data set check report as people read it in Slack, from the trainer's
 * `check-data --json` output (docs/protocol.md, "check-data report"). Pure.
 */
import type { Translate } from '../bot/i18n.js';

/** The fields of the trainer's report this formatter reads; unknown fields are ignored. */
export interface CheckDataReport {
  report_version: number;
  path: string;
  ok: boolean;
  error?: { type: string; message: string };
  file_type?: string;
  format?: string;
  encoding?: string;
  warnings?: string[];
  rows?: number;
  valid_rows?: number;
  problems?: Array<{ kind: string; field?: string; count: number; first_rows: number[]; message?: string }>;
  duplicates?: { exact: number; near: number; first_exact?: number[][]; first_near?: number[][] };
  /** For RL formats, `measure` names what was counted: `prompt` (prompt rows) or the longer side of a preference pair. */
  tokens?: TokenLengths & { measure?: string };
  /** Preference rows: lengths of prompt+chosen and prompt+rejected. */
  pair_tokens?: { chosen: TokenLengths; rejected: TokenLengths };
  /** Prompt rows: rows without a reference `answer`; `required` when the recipe's rewards compare with it. */
  references?: { required: boolean; missing: number; first_rows: number[] };
}

export interface TokenLengths {
  tokenizer: string;
  max_length: number;
  p50: number;
  p90: number;
  p95?: number;
  p99: number;
  max: number;
  over_max_length: number;
  first_rows_over_max_length?: number[];
}

export interface TargetRows {
  min: number;
  max: number;
}

export type TargetPosition = 'below' | 'inside' | 'above';

/** Classifies a row count against the target range, whose ends count as inside. */
export function classifyRowCount(rows: number, target: TargetRows): TargetPosition {
  if (rows < target.min) return 'below';
  if (rows > target.max) return 'above';
  return 'inside';
}

/**
 * Reads a target range as plans write it: `3k-10k`, `3k–10k 条`, `3000-10000`, `3千到1万`.
 * Returns undefined when the text names none.
 */
export function parseTargetRows(text: string): TargetRows | undefined {
  const match = /(\d+(?:\.\d+)?)\s*(k|千|万|w)?\s*(?:-|–|—|~|～|到|至)\s*(\d+(?:\.\d+)?)\s*(k|千|万|w)?/i.exec(text);
  if (!match) return undefined;
  const scale = (unit: string | undefined): number => (unit === undefined ? 1 : /^(k|千)$/i.test(unit) ? 1000 : 10_000);
  // `3-10k` means 3k to 10k: a bare lower bound takes the upper bound's unit.
  const upperScale = scale(match[4]);
  const lowerScale = match[2] === undefined ? upperScale : scale(match[2]);
  const min = Math.round(Number(match[1]) * lowerScale);
  const max = Math.round(Number(match[3]) * upperScale);
  return min <= max && max > 0 ? { min, max } : undefined;
}

/** Catalog keys of the problem kinds about one field: missing, empty, or a preference pair with identical chosen and rejected texts. */
const FIELD_PROBLEMS: Record<string, string> = {
  missing_field: 'dataset.report.missing',
  empty_field: 'dataset.report.empty',
  identical_pair: 'dataset.report.identical',
};

/** Formats the report; an `error` report becomes one line saying why the file could not be checked. */
export function formatDatasetReport(report: CheckDataReport, target: TargetRows | undefined, t: Translate): string {
  if (report.error) return t('dataset.error', { message: report.error.message });

  const lines = [t('dataset.report.title', { path: report.path })];
  const rows = report.rows ?? 0;
  lines.push(t('dataset.report.rows', { rows }));
  if (target) {
    const position = classifyRowCount(rows, target);
    lines.push(t(`dataset.report.target_${position}`, { min: target.min, max: target.max, missing: target.min - rows, extra: rows - target.max }));
  }
  if (report.format) lines.push(t('dataset.report.format', { format: `${report.format} (${report.file_type ?? '?'}, ${report.encoding ?? 'utf-8'})` }));

  for (const warning of report.warnings ?? []) lines.push(t('dataset.report.encoding', { detail: warning }));

  let problemKinds = 0;
  for (const problem of report.problems ?? []) {
    problemKinds += 1;
    const key = FIELD_PROBLEMS[problem.kind];
    if (key && problem.field) {
      lines.push(t(key, { field: problem.field, count: problem.count, rows: problem.first_rows.join(', ') }));
    } else {
      lines.push(`• ${problem.message ?? problem.kind}: ${problem.count} (${problem.first_rows.join(', ')})`);
    }
  }

  const references = report.references;
  // Required references that are missing are already listed as problems of the field `answer`.
  if (references && !references.required && references.missing > 0) {
    lines.push(t('dataset.report.references_missing', { count: references.missing, rows: t('dataset.report.first_rows', { rows: references.first_rows.join(', ') }) }));
  }

  const duplicates = report.duplicates;
  if (duplicates && (duplicates.exact > 0 || duplicates.near > 0)) {
    const firstRows = [...(duplicates.first_exact ?? []), ...(duplicates.first_near ?? [])].map(([row, of]) => `${row}=${of}`);
    lines.push(
      t('dataset.report.duplicates', {
        exact: duplicates.exact,
        near: duplicates.near,
        rows: firstRows.length > 0 ? t('dataset.report.first_duplicates', { rows: firstRows.slice(0, 5).join(', ') }) : '',
      }),
    );
  }

  const tokens = report.tokens;
  if (tokens) {
    const lengthsKey = tokens.measure === 'prompt' ? 'dataset.report.prompt_lengths' : 'dataset.report.lengths';
    lines.push(t(lengthsKey, { model: tokens.tokenizer, p50: tokens.p50, p90: tokens.p90, p99: tokens.p99, max: tokens.max }));
    for (const [part, lengths] of Object.entries(report.pair_tokens ?? {})) {
      lines.push(t('dataset.report.pair_lengths', { part, p50: lengths.p50, p99: lengths.p99, max: lengths.max, count: lengths.over_max_length }));
    }
    const overRows = tokens.first_rows_over_max_length ?? [];
    lines.push(
      t('dataset.report.overlength', {
        maxLength: tokens.max_length,
        count: tokens.over_max_length,
        rows: overRows.length > 0 ? t('dataset.report.first_rows', { rows: overRows.join(', ') }) : '',
      }),
    );
    if (tokens.over_max_length > 0) problemKinds += 1;
  }

  lines.push(problemKinds === 0 && report.ok ? t('dataset.report.ok') : t('dataset.report.problems', { count: Math.max(problemKinds, 1) }));
  return lines.join('\n');
}

/** Reads the report from `check-data --json` output: the last line that is a JSON object with `report_version`. */
export function parseCheckDataOutput(stdout: string): CheckDataReport | undefined {
  const lines = stdout.split('\n').reverse();
  for (const line of lines) {
    if (!line.trim().startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as Partial<CheckDataReport>;
      if (typeof parsed.report_version === 'number') return parsed as CheckDataReport;
    } catch {
      // A log line that happens to start with a brace.
    }
  }
  return undefined;
}
