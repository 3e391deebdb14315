/**
 * `HostProvider` over the configured VMs: a `LocalHost` for `transport: local` and one
 * pooled `SshHost` connection per SSH VM. Concurrent `get` calls for a VM share one
 * connect attempt. A failed attempt is not cached, and a connection that closes leaves
 * the pool, so the next `get` reconnects.
 */
import type { Logger } from 'pino';

import type { Config } from '../config/schema.js';
import type { Host, HostProvider } from './host.js';
import { LocalHost } from './local-host.js';
import { SshHost } from './ssh-host.js';

export class UnknownVmError extends Error {
  readonly code = 'UNKNOWN_VM';

  constructor(readonly vmName: string, known: readonly string[]) {
    super(`VM "${vmName}" is not in the config; configured VMs: ${known.join(', ') || '(none)'}`);
    this.name = 'UnknownVmError';
  }
}

export class HostPool implements HostProvider {
  private readonly connections = new Map<string, Promise<Host>>();
  /** Hosts whose connect finished, by VM name, to match `invalidate(vmName, host)`. */
  private readonly connected = new Map<string, Host>();

  constructor(
    private readonly vms: Config['vms'],
    private readonly logger: Logger,
  ) {}

  get(vmName: string): Promise<Host> {
    const pooled = this.connections.get(vmName);
    if (pooled) return pooled;

    const vm = this.vms[vmName];
    if (!vm) return Promise.reject(new UnknownVmError(vmName, Object.keys(this.vms)));

    const logger = this.logger.child({ vm: vmName });
    if (vm.transport === 'local') {
      const host = new LocalHost(vmName);
      const local = Promise.resolve<Host>(host);
      this.connections.set(vmName, local);
      this.connected.set(vmName, host);
      return local;
    }
    if (!vm.ssh) return Promise.reject(new Error(`vms.${vmName}.ssh is missing, which transport ssh requires`));

    const connecting = SshHost.connect(vmName, vm.ssh, logger).then(
      (host) => {
        logger.info({ host: vm.ssh?.host, port: vm.ssh?.port }, 'ssh connected');
        if (this.connections.get(vmName) === connecting) this.connected.set(vmName, host);
        host.onClose(() => {
          if (this.connections.get(vmName) === connecting) this.forget(vmName);
        });
        return host;
      },
      (error: unknown) => {
        if (this.connections.get(vmName) === connecting) this.forget(vmName);
        logger.warn({ err: { message: (error as Error).message, code: (error as { code?: unknown }).code } }, 'ssh connect failed');
        throw error;
      },
    );
    this.connections.set(vmName, connecting);
    return connecting;
  }

  invalidate(vmName: string, host?: Host): void {
    const pooled = this.connections.get(vmName);
    if (!pooled) {
      if (host) closeHost(host);
      return;
    }
    if (host && this.connected.get(vmName) !== host) {
      closeHost(host);
      return;
    }
    this.forget(vmName);
    pooled.then(closeHost, () => {});
  }

  async closeAll(): Promise<void> {
    const pooled = [...this.connections.values()];
    this.connections.clear();
    this.connected.clear();
    await Promise.allSettled(pooled.map((host) => host.then(closeHost)));
  }

  private forget(vmName: string): void {
    this.connections.delete(vmName);
    this.connected.delete(vmName);
  }
}

function closeHost(host: Host): void {
  if (host instanceof SshHost) host.close();
}
