/**
 * Resolves where a restart resumes from (`from=latest|<step>|scratch`) against the
 * checkpoints found in the run's output folder. Pure.
 */

export interface Checkpoint {
  step: number;
  /** Absolute path of the `checkpoint-N` folder on the host. */
  path: string;
}

export type RestartFrom = { kind: 'latest' } | { kind: 'scratch' } | { kind: 'step'; step: number };

export type RestartPoint = { kind: 'checkpoint'; step: number; path: string } | { kind: 'scratch' };

export type RestartPointError =
  | { error: 'step_not_found'; step: number; available: number[]; nearest: number | null }
  | { error: 'invalid_from'; text: string };

/** Parses the `from=` value a person typed; absent means `latest`. */
export function parseRestartFrom(text: string | undefined): RestartFrom | RestartPointError {
  const value = (text ?? 'latest').trim().toLowerCase();
  if (value === '' || value === 'latest' || value === '最新') return { kind: 'latest' };
  if (value === 'scratch' || value === '从头' || value === 'none') return { kind: 'scratch' };

  const match = /^(?:checkpoint-)?(\d{1,9})$/.exec(value);
  if (match) return { kind: 'step', step: Number(match[1]) };
  return { error: 'invalid_from', text: text ?? '' };
}

/** Reads `checkpoint-N` entries from a folder listing, sorted by step. */
export function parseCheckpointListing(outputDir: string, names: readonly string[]): Checkpoint[] {
  const checkpoints: Checkpoint[] = [];
  for (const name of names) {
    const match = /^checkpoint-(\d+)$/.exec(name.trim());
    if (match) checkpoints.push({ step: Number(match[1]), path: `${outputDir.replace(/\/+$/, '')}/${name.trim()}` });
  }
  return checkpoints.sort((a, b) => a.step - b.step);
}

/**
 * Picks the checkpoint: `latest` is the highest step (scratch when there is none), a
 * step must match a checkpoint exactly, and the error names the nearest earlier one.
 */
export function resolveRestartPoint(from: RestartFrom, checkpoints: readonly Checkpoint[]): RestartPoint | RestartPointError {
  if (from.kind === 'scratch') return { kind: 'scratch' };

  const sorted = [...checkpoints].sort((a, b) => a.step - b.step);
  if (from.kind === 'latest') {
    const latest = sorted.at(-1);
    return latest ? { kind: 'checkpoint', step: latest.step, path: latest.path } : { kind: 'scratch' };
  }

  const exact = sorted.find((checkpoint) => checkpoint.step === from.step);
  if (exact) return { kind: 'checkpoint', step: exact.step, path: exact.path };

  const earlier = sorted.filter((checkpoint) => checkpoint.step < from.step).at(-1);
  return {
    error: 'step_not_found',
    step: from.step,
    available: sorted.map((checkpoint) => checkpoint.step),
    nearest: earlier?.step ?? null,
  };
}

/** Returns the `resume` value for run.json (docs/protocol.md): a checkpoint path, or `none` for scratch. */
export function resumeValueFor(point: RestartPoint): string {
  return point.kind === 'checkpoint' ? point.path : 'none';
}

export function isRestartPointError(value: unknown): value is RestartPointError {
  return typeof value === 'object' && value !== null && 'error' in value;
}
