import { distance } from 'fastest-levenshtein';

/**
 * Finds the valid name closest to what a person typed, for "did you mean" hints. Names
 * further than about a third of their length away are not offered, so a wild guess
 * does not produce a misleading suggestion.
 */
export function suggestName(typed: string, candidates: readonly string[]): string | undefined {
  const needle = typed.toLowerCase();
  let best: { name: string; score: number } | undefined;

  for (const name of candidates) {
    const lower = name.toLowerCase();
    // A prefix or substring match (`medical` for `medical-phi4`, `lrate` for `lr`) is a strong hint.
    const contained = lower.startsWith(needle) || (needle.length >= 3 && lower.includes(needle));
    const containing = lower.length >= 2 && needle.startsWith(lower);
    // A candidate contained in the typed name ranks after a one-letter typo, so
    // `yanshiyiliau` suggests `yanshiyiliao`, not `yanshi`.
    let score = distance(needle, lower);
    if (contained) score = 0.5;
    else if (containing) score = Math.min(score, 1.5);
    if (best === undefined || score < best.score) best = { name, score };
  }

  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.ceil(best.name.length / 3));
  return best.score <= limit ? best.name : undefined;
}
