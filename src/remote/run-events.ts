/**
 * Events the trainer appends to `events.jsonl` (version 1), and the pure parser the
 * event follower feeds with byte ranges of that file.
 *
 * Every event has `v` (1), `type`, `time` (ISO 8601 with offset) and `run_id`. Unknown
 * fields pass through untouched; an unknown `type` (or a later `v`) parses to
 * `{ type: 'unknown' }` so callers log it and go on.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();
const finiteOrNull = z.number().nullable();

const base = {
  v: z.literal(1),
  time: z.string().min(1),
  run_id: z.string().min(1),
};

export const startEventSchema = z.looseObject({
  ...base,
  type: z.literal('start'),
  model: z.string(),
  world_size: count,
  train_rows: count,
  max_steps: count,
  num_epochs: z.number().nonnegative(),
  resumed_from: z.string().nullable(),
  stage: z.string().optional(),
  stage_index: count.optional(),
  stage_count: count.optional(),
  data_report: z.unknown().optional(),
});

export const stepEventSchema = z.looseObject({
  ...base,
  type: z.literal('step'),
  step: count,
  max_steps: count,
  epoch: z.number().nonnegative(),
  /** Null when the trainer wrote NaN or Infinity (a diverged run). */
  loss: finiteOrNull,
  learning_rate: finiteOrNull,
  grad_norm: finiteOrNull.optional(),
  tokens_per_second: finiteOrNull.optional(),
  reward_mean: finiteOrNull.optional(),
  reward_std: finiteOrNull.optional(),
  kl: finiteOrNull.optional(),
  completion_length: finiteOrNull.optional(),
});

/** Metrics travel as extra fields by name, such as `eval_loss`. */
export const evalEventSchema = z.looseObject({
  ...base,
  type: z.literal('eval'),
  step: count,
});

export const checkpointEventSchema = z.looseObject({
  ...base,
  type: z.literal('checkpoint'),
  step: count,
  path: z.string().min(1),
});

export const endEventSchema = z.looseObject({
  ...base,
  type: z.literal('end'),
  status: z.enum(['succeeded', 'failed']),
  step: count.nullable(),
  output_path: z.string().nullable(),
  error: z.looseObject({ type: z.string(), message: z.string() }).nullable().optional(),
});

export type StartEvent = z.infer<typeof startEventSchema>;
export type StepEvent = z.infer<typeof stepEventSchema>;
export type EvalEvent = z.infer<typeof evalEventSchema>;
export type CheckpointEvent = z.infer<typeof checkpointEventSchema>;
export type EndEvent = z.infer<typeof endEventSchema>;

/** An event this reader does not understand: a new type or a later protocol version. */
export interface UnknownEvent {
  type: 'unknown';
  originalType: unknown;
  version: unknown;
  raw: Record<string, unknown>;
}

export type RunEvent = StartEvent | StepEvent | EvalEvent | CheckpointEvent | EndEvent | UnknownEvent;

/** A line that is not valid JSON or breaks its type's schema; it is skipped. */
export interface MalformedLine {
  /** Byte offset of the line's start in events.jsonl. */
  offset: number;
  reason: string;
  /** The line, cut to 200 characters. */
  excerpt: string;
}

export interface EventChunk {
  events: RunEvent[];
  /** Byte offset just past the last complete line: where the next read starts. */
  newOffset: number;
  malformed: MalformedLine[];
}

const schemas = {
  start: startEventSchema,
  step: stepEventSchema,
  eval: evalEventSchema,
  checkpoint: checkpointEventSchema,
  end: endEventSchema,
} as const;

const NEWLINE = 0x0a;

/**
 * Parses the complete lines of `buffer`, which contains events.jsonl from byte
 * `startOffset`. A partial last line is left for the next read: `newOffset` stops
 * before it. Lines split only at byte 0x0A, which never occurs inside a UTF-8
 * multi-byte character, so offsets stay exact.
 */
export function parseEventChunk(buffer: Buffer, startOffset: number): EventChunk {
  const events: RunEvent[] = [];
  const malformed: MalformedLine[] = [];
  let lineStart = 0;

  for (let newline = buffer.indexOf(NEWLINE); newline !== -1; newline = buffer.indexOf(NEWLINE, lineStart)) {
    const line = buffer.subarray(lineStart, newline).toString('utf8').trim();
    const offset = startOffset + lineStart;
    lineStart = newline + 1;
    if (line === '') continue;

    const parsed = parseEventLine(line);
    if ('reason' in parsed) malformed.push({ offset, reason: parsed.reason, excerpt: line.slice(0, 200) });
    else events.push(parsed.event);
  }

  return { events, newOffset: startOffset + lineStart, malformed };
}

/** Parses one line of events.jsonl. */
export function parseEventLine(line: string): { event: RunEvent } | { reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    try {
      value = JSON.parse(replaceNonFiniteNumbers(line));
    } catch (error) {
      return { reason: `invalid JSON: ${(error as Error).message}` };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { reason: 'not a JSON object' };

  const raw = value as Record<string, unknown>;
  const schema = raw.v === 1 && typeof raw.type === 'string' ? schemas[raw.type as keyof typeof schemas] : undefined;
  if (!schema) return { event: { type: 'unknown', originalType: raw.type, version: raw.v, raw } };

  const result = schema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`);
    return { reason: `invalid ${String(raw.type)} event: ${issues.join('; ')}` };
  }
  return { event: result.data };
}

/**
 * Python's json.dumps writes NaN and Infinity as bare words, which JSON.parse rejects.
 * A diverged run logs exactly those losses, so they are read as null instead.
 */
function replaceNonFiniteNumbers(line: string): string {
  return line.replace(/([:,[]\s*)(-?Infinity|NaN)(?=\s*[,}\]])/g, '$1null');
}
