import type { Block } from '../bot/chat-port.js';
import { contextLine, header, section } from '../bot/blocks.js';
import type { Translate } from '../bot/i18n.js';
import type { GpuStatus, LoginSession } from '../remote/gpu-status.js';
import type { GpuProbeResult } from '../remote/vm-probe.js';

/** Findings of `/vm status`; `gpus` and `sessions` are absent when the VM was not probed. */
export interface VmStatusReport {
  vm: string;
  /** Already translated power state. */
  power: string;
  running: boolean;
  gpus?: GpuProbeResult;
  sessions?: LoginSession[];
  /** Translated reason when the VM could not be reached over SSH. */
  unreachable?: string;
}

/** Renders power state, each GPU's memory and utilisation, the processes on it with their owners, and login sessions. */
export function formatVmStatus(report: VmStatusReport, t: Translate): { text: string; blocks: Block[] } {
  const title = t('vm.status.title', { vm: report.vm, power: report.power });
  const lines: string[] = [];

  if (!report.running) {
    lines.push(t('vm.status.not_running', { vm: report.vm }));
  } else if (report.unreachable) {
    lines.push(report.unreachable);
  } else if (report.gpus && !report.gpus.ok) {
    lines.push(
      report.gpus.reason === 'no_nvidia_smi'
        ? t('vm.status.no_nvidia_smi', { vm: report.vm })
        : t('vm.status.probe_failed', { vm: report.vm, reason: report.gpus.detail }),
    );
  } else if (report.gpus?.ok) {
    for (const gpu of report.gpus.gpus) lines.push(...formatGpu(gpu, t));
  }

  const sessionsLine =
    report.sessions === undefined
      ? undefined
      : report.sessions.length === 0
        ? t('vm.status.no_sessions')
        : t('vm.status.sessions', {
            sessions: report.sessions.map((session) => `${session.user}（${session.line}${session.from ? `，${session.from}` : ''}）`).join('、'),
          });

  const blocks: Block[] = [header(title), section(lines.join('\n'))];
  if (sessionsLine) blocks.push(contextLine(sessionsLine));
  return { text: [title, ...lines, ...(sessionsLine ? [sessionsLine] : [])].join('\n'), blocks };
}

function formatGpu(gpu: GpuStatus, t: Translate): string[] {
  const na = t('vm.status.na');
  const lines = [
    t('vm.status.gpu', {
      index: gpu.index,
      name: gpu.name,
      used: gpu.memoryUsedMiB ?? na,
      total: gpu.memoryTotalMiB ?? na,
      utilization: gpu.utilizationPercent === null ? na : `${gpu.utilizationPercent}%`,
    }),
  ];
  if (gpu.processes.length === 0) lines.push(t('vm.status.gpu_idle'));
  for (const process of gpu.processes) {
    lines.push(
      t('vm.status.process', {
        user: process.user ?? t('vm.status.unknown_user'),
        pid: process.pid,
        name: process.processName,
        memory: process.usedMemoryMiB ?? na,
      }),
    );
  }
  return lines;
}
