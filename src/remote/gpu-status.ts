/**
 * Parsing of `nvidia-smi` CSV queries, `ps` and `who` output from a VM, so `/vm status`
 * shows who is using each card and the auto-stop check counts open login sessions. Pure:
 * the commands are run by `src/remote/vm-probe.ts`.
 *
 * nvidia-smi prints `[N/A]` or `[Not Supported]` for values a card does not report
 * (utilization on some MIG set-ups, memory of processes in containers); those become null.
 * Names come last in both queries because CSV output does not quote them, so a comma in
 * a name or path would shift every later field.
 */

/** `nvidia-smi --query-gpu=<GPU_QUERY_FIELDS> --format=csv,noheader,nounits` */
export const GPU_QUERY_FIELDS = ['index', 'uuid', 'memory.used', 'memory.total', 'utilization.gpu', 'name'] as const;
/** `nvidia-smi --query-compute-apps=<APP_QUERY_FIELDS> --format=csv,noheader,nounits` */
export const APP_QUERY_FIELDS = ['gpu_uuid', 'pid', 'used_memory', 'process_name'] as const;

export interface GpuProcess {
  pid: number;
  processName: string;
  /** MiB, or null when nvidia-smi does not report it. */
  usedMemoryMiB: number | null;
  /** Login name of the process owner, from `ps`; undefined when the pid was not found. */
  user?: string;
}

export interface GpuStatus {
  index: number;
  uuid: string;
  name: string;
  /** MiB. */
  memoryUsedMiB: number | null;
  /** MiB. */
  memoryTotalMiB: number | null;
  /** Percent of time a kernel ran over the last sample period. */
  utilizationPercent: number | null;
  processes: GpuProcess[];
}

/** A login session from `who`: user, terminal, login time as printed, remote address. */
export interface LoginSession {
  user: string;
  line: string;
  loginTime: string;
  from?: string;
}

/** Parses the `--query-gpu` output; lines that do not have every field are skipped. */
export function parseGpuQuery(output: string): GpuStatus[] {
  const gpus: GpuStatus[] = [];
  for (const fields of csvRows(output)) {
    if (fields.length < GPU_QUERY_FIELDS.length) continue;
    const [index, uuid, used, total, utilization] = fields;
    const name = fields.slice(5).join(',');
    const parsedIndex = toNumber(index!);
    if (parsedIndex === null) continue;
    gpus.push({
      index: parsedIndex,
      uuid: uuid!,
      name,
      memoryUsedMiB: toNumber(used!),
      memoryTotalMiB: toNumber(total!),
      utilizationPercent: toNumber(utilization!),
      processes: [],
    });
  }
  return gpus;
}

/** Parses `--query-compute-apps` output into processes keyed by GPU uuid. */
export function parseComputeApps(output: string): Map<string, GpuProcess[]> {
  const byGpu = new Map<string, GpuProcess[]>();
  for (const fields of csvRows(output)) {
    if (fields.length < APP_QUERY_FIELDS.length) continue;
    const [gpuUuid, pid, usedMemory] = fields;
    const processName = fields.slice(3).join(',');
    const parsedPid = toNumber(pid!);
    if (parsedPid === null) continue;
    const list = byGpu.get(gpuUuid!) ?? [];
    list.push({ pid: parsedPid, processName, usedMemoryMiB: toNumber(usedMemory!) });
    byGpu.set(gpuUuid!, list);
  }
  return byGpu;
}

/** Parses `ps -o pid=,user= -p <pids>` output into a pid -> user map. */
export function parsePsUsers(output: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of output.split('\n')) {
    const match = /^\s*(\d+)\s+(\S+)\s*$/.exec(line);
    if (match) users.set(Number(match[1]), match[2]!);
  }
  return users;
}

/** Joins GPUs, their processes and the owners of those processes. */
export function combineGpuStatus(gpuQuery: string, appsQuery: string, psOutput = ''): GpuStatus[] {
  const gpus = parseGpuQuery(gpuQuery);
  const apps = parseComputeApps(appsQuery);
  const users = parsePsUsers(psOutput);
  for (const gpu of gpus) {
    gpu.processes = (apps.get(gpu.uuid) ?? []).map((process) => {
      const user = users.get(process.pid);
      return user === undefined ? process : { ...process, user };
    });
  }
  return gpus;
}

/**
 * Parses `who` output (`alice pts/0 2026-12-04 19:58 (10.0.0.5)`). `who` lists utmp
 * records, which sshd writes only for sessions with a terminal, so the bot's own exec
 * channels (no pty) never appear in it.
 */
export function parseWho(output: string): LoginSession[] {
  const sessions: LoginSession[] = [];
  for (const line of output.split('\n')) {
    const match = /^(\S+)\s+(\S+)\s+(.+?)(?:\s+\(([^)]*)\))?\s*$/.exec(line);
    if (!match) continue;
    const session: LoginSession = { user: match[1]!, line: match[2]!, loginTime: match[3]!.trim() };
    if (match[4]) session.from = match[4];
    sessions.push(session);
  }
  return sessions;
}

function csvRows(output: string): string[][] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => line.split(',').map((field) => field.trim()));
}

function toNumber(text: string): number | null {
  if (text === '' || text.startsWith('[')) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}
