import type { VmConfig } from '../config/schema.js';

/** The run directory on a VM: `<workdir>/runs/<id>` (docs/protocol.md); `~` is resolved on the host. */
export function runDirOf(vm: Pick<VmConfig, 'workdir'>, runId: string): string {
  return `${vm.workdir.replace(/\/+$/, '')}/runs/${runId}`;
}
