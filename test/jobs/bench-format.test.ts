import { describe, expect, it } from 'vitest';

import { renderBandwidthChart } from '../../src/jobs/bench-chart.js';
import { translator } from '../../src/bot/i18n.js';
import { formatBenchReport, formatBenchTable, formatBytes, parseBenchOutput, peakResults } from '../../src/jobs/bench-format.js';
import { buildBenchCommand } from '../../src/jobs/bench-worker.js';
import { benchRecipeSchema } from '../../src/config/schema.js';

const OUTPUT = [
  '{"type": "env", "backend": "nccl", "world_size": 2, "torch_version": "2.15.0", "nccl_version": "2.27.3", "gpu_name": "NVIDIA H100 80GB HBM3", "gpu_link": "NV18", "topology": "..."}',
  '{"type": "result", "collective": "all_to_all", "bytes": 1024, "iterations": 20, "time_us": 20.5, "algbw_gbps": 0.05, "busbw_gbps": 0.025}',
  '{"type": "result", "collective": "all_to_all", "bytes": 1048576, "iterations": 20, "time_us": 40.1, "algbw_gbps": 26.1, "busbw_gbps": 13.05}',
  'not json',
  '{"type": "result", "collective": "all_reduce", "bytes": 1024, "iterations": 20, "time_us": 15.2, "algbw_gbps": 0.07, "busbw_gbps": 0.07}',
  '{"type": "result", "collective": "all_reduce", "bytes": 1048576, "iterations": 20, "time_us": 30.4, "algbw_gbps": 34.5, "busbw_gbps": 34.5}',
  '{"type": "future", "x": 1}',
].join('\n');

describe('bench output', () => {
  it('parses environment and results', () => {
    const output = parseBenchOutput(OUTPUT);
    expect(output.environment).toEqual({ backend: 'nccl', worldSize: 2, ncclVersion: '2.27.3', gpuName: 'NVIDIA H100 80GB HBM3', gpuLink: 'NV18' });
    expect(output.results).toHaveLength(4);
    expect(output.results[1]).toEqual({ collective: 'all_to_all', bytes: 1048576, timeUs: 40.1, algbwGbps: 26.1, busbwGbps: 13.05 });
  });

  it('formats one table row per size', () => {
    const table = formatBenchTable(parseBenchOutput(OUTPUT).results);
    const lines = table.split('\n');
    expect(lines[0]).toContain('all_to_all busbw');
    expect(lines[0]).toContain('all_reduce busbw');
    expect(lines[1]).toMatch(/^\s+1 KiB\s+20\.5\s+0\.025\s+15\.2\s+0\.070$/);
    expect(lines[2]).toMatch(/^\s+1 MiB\s+40\.1\s+13\.050\s+30\.4\s+34\.500$/);
  });

  it('explains the units in the reader\'s language', () => {
    const output = parseBenchOutput(OUTPUT);
    const zh = formatBenchReport('xunlian', output, translator('zh-CN'));
    const en = formatBenchReport('xunlian', output, translator('en'));

    expect(zh).toContain('busbw 为总线带宽，单位 GB/s，按 nccl-tests 的定义计算');
    expect(zh).not.toContain('definition');
    expect(en).toContain('busbw is bus bandwidth in GB/s, as nccl-tests defines it');
    expect(formatBenchTable(output.results)).not.toContain('nccl-tests');
  });

  it('finds the peak per collective', () => {
    expect(peakResults(parseBenchOutput(OUTPUT).results).map((peak) => [peak.collective, peak.bytes])).toEqual([
      ['all_to_all', 1048576],
      ['all_reduce', 1048576],
    ]);
  });

  it('formats sizes in binary units', () => {
    expect([formatBytes(512), formatBytes(1024), formatBytes(268435456), formatBytes(1536)]).toEqual(['512 B', '1 KiB', '256 MiB', '1.5 KiB']);
  });

  it('draws a PNG chart', () => {
    const png = renderBandwidthChart(parseBenchOutput(OUTPUT).results, 'busbw');
    expect(png?.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect(renderBandwidthChart([], 'empty')).toBeUndefined();
  });

  it('builds torchrun argv per GPU', () => {
    const recipe = benchRecipeSchema.parse({ kind: 'bench' });
    const argv = buildBenchCommand(recipe, { gpus: 2, python: '/venv/bin/python' }, '/runs/5/bench.jsonl');
    expect(argv.slice(0, 8)).toEqual(['/venv/bin/python', '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', '-m', 'trainops_trainer', 'bench-comm']);
    expect(argv[argv.indexOf('--backend') + 1]).toBe('nccl');
    const cpu = buildBenchCommand(recipe, { gpus: 0, python: 'python3' }, '/o');
    expect(cpu).toContain('--nproc_per_node=2');
    expect(cpu[cpu.indexOf('--backend') + 1]).toBe('gloo');
  });
});
