/**
 * A text sparkline (▁▂▃▄▅▆▇█) of a series, for the final message of a run. Long series
 * are reduced to `width` buckets by averaging, so the line fits one Slack line.
 */
const BARS = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly number[], width = 30): string {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return '';

  const buckets = bucketMeans(finite, width);
  const min = Math.min(...buckets);
  const max = Math.max(...buckets);
  const span = max - min;

  return buckets
    .map((value) => {
      // A flat series draws at mid height rather than as a floor line.
      const level = span === 0 ? 3 : Math.round(((value - min) / span) * (BARS.length - 1));
      return BARS[level];
    })
    .join('');
}

function bucketMeans(values: readonly number[], width: number): number[] {
  if (values.length <= width) return [...values];
  const buckets: number[] = [];
  for (let index = 0; index < width; index += 1) {
    const start = Math.floor((index * values.length) / width);
    const end = Math.floor(((index + 1) * values.length) / width);
    const slice = values.slice(start, Math.max(end, start + 1));
    buckets.push(slice.reduce((sum, value) => sum + value, 0) / slice.length);
  }
  return buckets;
}
