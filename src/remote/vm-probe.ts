/**
 * Reads GPU use and open login sessions from a running VM over its Host. The parsing
 * lives in `gpu-status.ts`; this module only runs the commands, each as an argv list.
 */
import {
  APP_QUERY_FIELDS,
  combineGpuStatus,
  GPU_QUERY_FIELDS,
  parseWho,
  type GpuStatus,
  type LoginSession,
} from './gpu-status.js';
import type { Host } from './host.js';

const PROBE_TIMEOUT_MS = 20_000;

export type GpuProbeResult = { ok: true; gpus: GpuStatus[] } | { ok: false; reason: 'no_nvidia_smi' | 'failed'; detail: string };

/** Runs the two nvidia-smi queries and `ps` for the owners of the GPU processes. */
export async function probeGpus(host: Host): Promise<GpuProbeResult> {
  let gpuQuery;
  try {
    gpuQuery = await host.exec(
      ['nvidia-smi', `--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'],
      { timeoutMs: PROBE_TIMEOUT_MS },
    );
  } catch (error) {
    // LocalHost spawns without a shell, so a missing program is ENOENT instead of exit code 127.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, reason: 'no_nvidia_smi', detail: 'nvidia-smi not found' };
    throw error;
  }
  if (gpuQuery.code === 127 || (gpuQuery.code !== 0 && /not found/i.test(gpuQuery.stderr))) {
    return { ok: false, reason: 'no_nvidia_smi', detail: gpuQuery.stderr.trim() };
  }
  if (gpuQuery.code !== 0) {
    return { ok: false, reason: 'failed', detail: (gpuQuery.stderr || gpuQuery.stdout).trim().slice(0, 300) };
  }

  const apps = await host.exec(
    ['nvidia-smi', `--query-compute-apps=${APP_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'],
    { timeoutMs: PROBE_TIMEOUT_MS },
  );
  const appsOutput = apps.code === 0 ? apps.stdout : '';
  const pids = [...appsOutput.matchAll(/^[^,]+,\s*(\d+)\s*,/gm)].map((match) => match[1]!);

  let psOutput = '';
  if (pids.length > 0) {
    // ps exits 1 when some pid has already gone; the rest are still listed.
    const ps = await host.exec(['ps', '-o', 'pid=,user=', '-p', pids.join(',')], { timeoutMs: PROBE_TIMEOUT_MS });
    psOutput = ps.stdout;
  }
  return { ok: true, gpus: combineGpuStatus(gpuQuery.stdout, appsOutput, psOutput) };
}

/**
 * Lists interactive login sessions with `who`. The bot's own SSH exec channels have no
 * terminal, so sshd writes no utmp record for them and they are not counted.
 */
export async function probeLoginSessions(host: Host): Promise<LoginSession[]> {
  const result = await host.exec(['who'], { timeoutMs: PROBE_TIMEOUT_MS });
  if (result.code !== 0) {
    throw new Error(`who failed on VM "${host.vmName}" with exit code ${result.code ?? 'none'}: ${result.stderr.trim().slice(0, 200)}`);
  }
  return parseWho(result.stdout);
}
