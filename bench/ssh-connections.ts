/** Counts a process's established TCP connections to given ports with `ss` (iproute2). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface Connection {
  /** Local address and port, which identify the connection. */
  local: string;
  peerPort: number;
}

/** Lists the established connections of `pid` to any of `ports` on 127.0.0.1. */
export async function connectionsOf(pid: number, ports: readonly number[]): Promise<Connection[]> {
  const { stdout } = await execFileAsync('ss', ['-tnpH', 'state', 'established']);
  const wanted = new Set(ports);
  const connections: Connection[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.includes(`pid=${pid},`)) continue;
    // Columns without the state: Recv-Q Send-Q Local:Port Peer:Port Process.
    const [, , local, peer] = line.trim().split(/\s+/);
    const peerPort = Number(peer?.slice(peer.lastIndexOf(':') + 1));
    if (local && wanted.has(peerPort)) connections.push({ local, peerPort });
  }
  return connections;
}
