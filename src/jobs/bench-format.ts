/**
 * Reading and formatting the comm benchmark's output (`bench-comm --output`): one JSON
 * object a line, an `env` record then one `result` record per collective and message
 * size. Pure, so the table is tested without torch.
 */
import type { Translate } from '../bot/i18n.js';

export interface BenchEnvironment {
  backend: string;
  worldSize: number;
  ncclVersion: string | null;
  gpuName: string | null;
  /** GPU0-GPU1 cell of `nvidia-smi topo -m` (NV18, PIX, SYS…), null on CPU hosts. */
  gpuLink: string | null;
}

export interface BenchResult {
  collective: string;
  bytes: number;
  timeUs: number;
  algbwGbps: number;
  busbwGbps: number;
}

export interface BenchOutput {
  environment?: BenchEnvironment;
  results: BenchResult[];
}

/** Parses the JSON lines; lines that are not JSON objects of a known type are skipped. */
export function parseBenchOutput(text: string): BenchOutput {
  const output: BenchOutput = { results: [] };
  for (const line of text.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (record.type === 'env') {
      output.environment = {
        backend: String(record.backend ?? ''),
        worldSize: Number(record.world_size ?? 0),
        ncclVersion: typeof record.nccl_version === 'string' ? record.nccl_version : null,
        gpuName: typeof record.gpu_name === 'string' ? record.gpu_name : null,
        gpuLink: typeof record.gpu_link === 'string' ? record.gpu_link : null,
      };
    } else if (record.type === 'result' && typeof record.collective === 'string' && Number.isFinite(record.bytes)) {
      output.results.push({
        collective: record.collective,
        bytes: Number(record.bytes),
        timeUs: Number(record.time_us),
        algbwGbps: Number(record.algbw_gbps),
        busbwGbps: Number(record.busbw_gbps),
      });
    }
  }
  return output;
}

/** `1 KiB`, `256 MiB`: binary units, as message sizes are powers of two. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Formats a fixed-width table for a Slack code block: one row per size, time and bus bandwidth per collective. */
export function formatBenchTable(results: readonly BenchResult[]): string {
  const collectives = [...new Set(results.map((result) => result.collective))];
  const sizes = [...new Set(results.map((result) => result.bytes))].sort((a, b) => a - b);
  const byKey = new Map(results.map((result) => [`${result.collective}:${result.bytes}`, result]));

  const header = ['size'.padStart(9), ...collectives.flatMap((name) => [`${name} us`.padStart(16), `${name} busbw`.padStart(19)])];
  const lines = [header.join(' ')];
  for (const size of sizes) {
    const cells = [formatBytes(size).padStart(9)];
    for (const name of collectives) {
      const result = byKey.get(`${name}:${size}`);
      cells.push((result ? result.timeUs.toFixed(1) : '—').padStart(16));
      cells.push((result ? result.busbwGbps.toFixed(3) : '—').padStart(19));
    }
    lines.push(cells.join(' '));
  }
  return lines.join('\n');
}

/**
 * Formats the benchmark's thread reply: title, environment, peak per collective, the
 * table in a code block and the localized note on its units.
 */
export function formatBenchReport(vm: string, output: BenchOutput, t: Translate): string {
  const environment = output.environment;
  const none = t('bench.none');
  const lines = [
    t('bench.result.title', { vm, world: environment?.worldSize ?? '—', backend: environment?.backend ?? '—' }),
    t('bench.result.env', { nccl: environment?.ncclVersion ?? none, link: environment?.gpuLink ?? none }),
    ...peakResults(output.results).map((peak) =>
      t('bench.result.peak', { collective: peak.collective, busbw: peak.busbwGbps.toFixed(2), size: formatBytes(peak.bytes) }),
    ),
    '```',
    formatBenchTable(output.results),
    '```',
    t('bench.result.units'),
  ];
  return lines.join('\n');
}

/** Picks the result with the highest bus bandwidth for each collective. */
export function peakResults(results: readonly BenchResult[]): BenchResult[] {
  const peaks = new Map<string, BenchResult>();
  for (const result of results) {
    const best = peaks.get(result.collective);
    if (!best || result.busbwGbps > best.busbwGbps) peaks.set(result.collective, result);
  }
  return [...peaks.values()];
}
