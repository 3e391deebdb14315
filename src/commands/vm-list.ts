import type { Block } from '../bot/chat-port.js';
import { contextLine, header, limitBlocks, section } from '../bot/blocks.js';
import type { Translate } from '../bot/i18n.js';
import type { Config } from '../config/schema.js';
import { formatDuration, runStatusLabel } from '../jobs/run-reporter.js';
import type { RunRecord } from '../jobs/run-types.js';
import type { PowerState } from '../remote/vm-control.js';
import { describeVmFailure, type VmPorts } from './vm-deps.js';

/** The facts `/vm list` shows for one VM, gathered first so the formatting stays pure. */
export interface VmOverview {
  vm: string;
  managed: boolean;
  power: PowerState | 'error';
  powerError?: string;
  activeRuns: RunRecord[];
  lastActiveAt?: Date;
}

/** Reads power states (in parallel), active runs and last activity of every configured VM. */
export async function gatherVmOverviews(
  config: Config,
  ports: VmPorts,
  runs: { listActive(): Promise<RunRecord[]> },
  t: Translate,
): Promise<VmOverview[]> {
  const active = await runs.listActive();
  return Promise.all(
    Object.keys(config.vms).map(async (vm): Promise<VmOverview> => {
      const managed = ports.control.isManaged(vm);
      const activeRuns = active.filter((run) => run.vm === vm).sort((a, b) => Number(a.id) - Number(b.id));
      const lastActiveAt = await ports.activity.lastActiveAt(vm);
      const base = { vm, managed, activeRuns, ...(lastActiveAt ? { lastActiveAt } : {}) };
      if (!managed) return { ...base, power: 'running' };
      try {
        return { ...base, power: await ports.control.getPowerState(vm) };
      } catch (error) {
        const text = describeVmFailure(error, t);
        if (text === undefined) throw error;
        return { ...base, power: 'error', powerError: text };
      }
    }),
  );
}

/** Renders the overview: one line per VM with power, GPUs, run, idle time and auto-stop policy. */
export function formatVmList(config: Config, overviews: readonly VmOverview[], now: Date, t: Translate): { text: string; blocks: Block[] } {
  const lines = overviews.map((overview) => formatVmLine(config, overview, now, t));
  const blocks: Block[] = [header(t('vm.list.title')), ...lines.map((line) => section(line))];
  const errors = overviews.filter((overview) => overview.powerError).map((overview) => overview.powerError!);
  if (errors.length > 0) blocks.push(contextLine(errors.join('\n')));
  return { text: [t('vm.list.title'), ...lines, ...errors].join('\n'), blocks: limitBlocks(blocks) };
}

function formatVmLine(config: Config, overview: VmOverview, now: Date, t: Translate): string {
  const vm = config.vms[overview.vm]!;
  const power = !overview.managed ? t('vm.power.always_on') : t(`vm.power.${overview.power}`);

  const [first, ...rest] = overview.activeRuns;
  let run = t('vm.list.no_run');
  if (first) {
    run = t('vm.list.run', { id: first.id, recipe: first.recipe, status: runStatusLabel(first, t) });
    if (rest.length > 0) run += `, ${t('vm.list.runs_more', { count: rest.length })}`;
  }

  let idle: string;
  if (overview.activeRuns.length > 0) idle = t('vm.list.busy');
  else if (overview.managed && overview.power !== 'running') idle = '—';
  else if (overview.lastActiveAt) idle = t('vm.list.idle', { duration: formatDuration(now.getTime() - overview.lastActiveAt.getTime(), t) });
  else idle = t('vm.list.idle_unknown');

  let policy: string;
  if (!overview.managed) policy = t('vm.list.policy_unmanaged');
  else if (!vm.autoStop.enabled) policy = t('vm.list.policy_off');
  else policy = t('vm.list.policy_on', { idle: vm.autoStop.idleMinutes, grace: vm.autoStop.graceMinutes });

  return t('vm.list.line', {
    vm: overview.vm,
    power,
    gpus: vm.gpus,
    model: vm.gpuModel ? ` ${vm.gpuModel}` : '',
    run,
    idle,
    policy,
  });
}
