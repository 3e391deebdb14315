/**
 * The thread warning a run gets when its `start` event's `data_report` (the check-data
 * report, docs/protocol.md) shows rows left out of training: invalid rows, and rows the
 * length policy dropped. Pure: it reads the event and formats the reply.
 */
import type { Translate } from '../bot/i18n.js';
import type { OutboxItem } from './run-types.js';
import type { TrainerEvent } from './run-progress.js';

export type DataWarningItem = OutboxItem & { type: 'data_warning' };

/** Dropped-row reasons the catalog names; any other reason is shown by its report key. */
const KNOWN_DROP_REASONS = new Set(['over_max_length', 'prompt_over_max_length', 'no_learnable_tokens']);

/**
 * Reads the row counts of a start event's `data_report`, or returns undefined when
 * every row read is used for training or the event carries no usable report.
 */
export function readDataWarning(event: TrainerEvent, key: string): DataWarningItem | undefined {
  const report = event.data_report;
  if (typeof report !== 'object' || report === null) return undefined;
  const fields = report as Record<string, unknown>;

  const rows = count(fields.rows);
  if (rows === undefined) return undefined;
  const validRows = count(fields.valid_rows);
  const invalid = validRows === undefined ? 0 : Math.max(0, rows - validRows);

  const dropped: Record<string, number> = {};
  if (typeof fields.dropped === 'object' && fields.dropped !== null) {
    for (const [reason, value] of Object.entries(fields.dropped)) {
      const number = count(value);
      if (number !== undefined && number > 0) dropped[reason] = number;
    }
  }
  if (invalid === 0 && Object.keys(dropped).length === 0) return undefined;

  const tokens = fields.tokens as { max_length?: unknown } | undefined;
  const maxLength = count(tokens?.max_length);
  // `train_rows` is the size of the set the trainer uses; `kept_rows` is the same count in the report.
  const trainRows = count(event.train_rows) ?? count(fields.kept_rows);
  return {
    key,
    type: 'data_warning',
    rows,
    invalid,
    dropped,
    ...(trainRows !== undefined ? { trainRows } : {}),
    ...(maxLength !== undefined ? { maxLength } : {}),
  };
}

/** Formats the warning: `⚠️ 训练数据 40 行，其中 36 行超过最大长度 128 被丢弃，实际用 4 行训练。` */
export function formatDataWarning(item: DataWarningItem, t: Translate): string {
  const maxLength = item.maxLength ?? t('runs.root.unknown');
  const parts: string[] = [];
  if (item.invalid > 0) parts.push(t('runs.data_warning.invalid', { count: item.invalid }));
  for (const [reason, rowCount] of Object.entries(item.dropped)) {
    parts.push(
      KNOWN_DROP_REASONS.has(reason)
        ? t(`runs.data_warning.dropped.${reason}`, { count: rowCount, maxLength })
        : t('runs.data_warning.dropped_other', { count: rowCount, reason }),
    );
  }

  const details = parts.join(t('runs.data_warning.separator'));
  const text =
    item.trainRows === undefined
      ? t('runs.data_warning', { rows: item.rows, details })
      : t('runs.data_warning.kept', { rows: item.rows, details, kept: item.trainRows });
  if (!item.dropped.over_max_length) return text;
  return t('runs.data_warning.with_hint', { warning: text, hint: t('runs.data_warning.hint_max_length', { maxLength }) });
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}
