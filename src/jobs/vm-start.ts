import { ensureVmRunning } from '../remote/vm-control.js';
import { formatDuration } from './run-reporter.js';
import type { RunRecord } from './run-types.js';
import type { RunWorkerDeps } from './run-worker.js';

/**
 * Starts the run's VM when Azure reports it stopped or deallocated, waits until SSH
 * answers, and says so in the run's thread: `正在启动虚拟机 …`, then how long it took.
 * Runs past the start phases and VMs without an `azure` section are left alone.
 * Returns the run as stored afterwards.
 */
export async function startVmForRun(deps: RunWorkerDeps, initial: RunRecord): Promise<RunRecord> {
  const { store, thread, hosts, clock } = deps;
  let run = initial;
  if (!['queued', 'restarting', 'starting_vm'].includes(run.status) || !deps.vmControl.isManaged(run.vm)) return run;

  const result = await ensureVmRunning(deps.vmControl, run.vm, {
    clock,
    onStarting: async () => {
      run = await store.transition(run.id, 'starting_vm');
      await thread.refreshRoot(run);
      await thread.postReply(run, `run:${run.id}:vm-starting:a${run.attempt}`, thread.translate('runs.vm.starting', { vm: run.vm }));
    },
    probeHost: async () => {
      const host = await hosts.get(run.vm).catch((error: unknown) => {
        hosts.invalidate(run.vm);
        throw error;
      });
      await host.ping();
    },
  });

  if (result.started) {
    const duration = formatDuration(result.elapsedMs, thread.translate.bind(thread));
    await thread.postReply(run, `run:${run.id}:vm-started:a${run.attempt}`, thread.translate('runs.vm.started', { vm: run.vm, duration }));
  }
  return store.require(run.id);
}
