/**
 * A real OpenSSH sshd on a free loopback port with throwaway keys: the "VM" of tests.
 *
 *   let sshd: TestSshd;
 *   beforeAll(async () => { sshd = await startSshd(); });
 *   afterAll(async () => { await sshd.stop(); });
 *   const vms = { gpu1: vmConfigFor(sshd) };   // a VmConfig with the pinned host key
 *   await sshd.dropConnections();               // cut every client connection, keep listening
 *   await sshd.freezeConnections();             // stop responding without closing: a dead network
 *   await sshd.restart();                       // stop and start on the same port and keys
 *   await sshd.pause(); await sshd.resume();    // a host that is down until resumed
 *
 * The server runs as the current user (root in CI containers, hence PermitRootLogin)
 * and accepts only the generated client key. `workdir` is a fresh folder for run
 * directories and code. stop() kills the processes whose working directory is inside
 * it (detached runs outlive sshd, as on a VM) and then removes it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import type { VmConfig } from '../../src/config/schema.js';
import { getFreePort, waitForPort } from './free-port.js';
import { stopChild } from './redis.js';

const execFileAsync = promisify(execFile);

const SSHD = '/usr/sbin/sshd';
const SFTP_SERVER_CANDIDATES = ['/usr/lib/openssh/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/libexec/sftp-server'];

export interface TestSshd {
  host: '127.0.0.1';
  port: number;
  user: string;
  /** Private key the client logs in with. */
  keyPath: string;
  /** `SHA256:...` as `ssh-keygen -lf` prints it for the server's host key. */
  hostKeyFingerprint: string;
  /** Empty folder for this server's runs and code; stop() kills processes running in it and removes it. */
  workdir: string;
  /** Kills the per-connection sshd processes, so every client sees its connection drop. */
  dropConnections(): Promise<void>;
  /**
   * Suspends (SIGSTOP) the per-connection processes: the sockets stay open but nothing
   * responds, as when the network between bot and VM fails. dropConnections() ends them.
   */
  freezeConnections(): Promise<void>;
  /** Stops the server (and its connections), then starts it again on the same port and keys. */
  restart(): Promise<void>;
  /** Stops the server and its connections until resume(): connects are refused meanwhile. */
  pause(): Promise<void>;
  /** Starts a paused server again on the same port and keys. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSshd(): Promise<TestSshd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trainops-sshd-'));
  const workdir = await mkdtemp(path.join(os.tmpdir(), 'trainops-vm-'));
  const hostKeyPath = path.join(dir, 'ssh_host_ed25519_key');
  const keyPath = path.join(dir, 'client_ed25519');
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'trainops-test-host', '-f', hostKeyPath]);
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'trainops-test-client', '-f', keyPath]);
  const authorizedKeysPath = path.join(dir, 'authorized_keys');
  await writeFile(authorizedKeysPath, await readFile(`${keyPath}.pub`));
  await chmod(authorizedKeysPath, 0o600);

  const { stdout } = await execFileAsync('ssh-keygen', ['-lf', `${hostKeyPath}.pub`]);
  const hostKeyFingerprint = stdout.split(' ')[1] ?? '';

  // sshd refuses to start without its privilege separation directory.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const port = await getFreePort();
  const configPath = path.join(dir, 'sshd_config');
  await writeFile(configPath, sshdConfig({ dir, port, hostKeyPath, authorizedKeysPath, sftpServer: await findSftpServer() }));

  let child = await launch(configPath, port);

  const dropConnections = async (): Promise<void> => {
    if (child.pid === undefined) return;
    for (const pid of await childPids(child.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone: the connection closed by itself.
      }
    }
  };

  const freezeConnections = async (): Promise<void> => {
    if (child.pid === undefined) return;
    for (const pid of await descendantPids(child.pid)) {
      try {
        process.kill(pid, 'SIGSTOP');
      } catch {
        // Already gone.
      }
    }
  };

  const stopServer = async (): Promise<void> => {
    await dropConnections();
    await stopChild(child);
  };

  return {
    host: '127.0.0.1',
    port,
    user: os.userInfo().username,
    keyPath,
    hostKeyFingerprint,
    workdir,
    dropConnections,
    freezeConnections,
    restart: async () => {
      await stopServer();
      child = await launch(configPath, port);
    },
    pause: stopServer,
    resume: async () => {
      child = await launch(configPath, port);
    },
    stop: async () => {
      await stopServer();
      await killProcessesIn(workdir);
      await rm(dir, { recursive: true, force: true });
      await rm(workdir, { recursive: true, force: true });
    },
  };
}

/** Builds a VM entry for the config that reaches this sshd with its pinned host key. */
export function vmConfigFor(sshd: TestSshd, overrides: Partial<VmConfig> = {}): VmConfig {
  return {
    transport: 'ssh',
    ssh: {
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      keyPath: sshd.keyPath,
      hostKey: sshd.hostKeyFingerprint,
      keepaliveSeconds: 15,
      readyTimeoutSeconds: 20,
    },
    gpus: 0,
    python: 'python3',
    workdir: sshd.workdir,
    autoStop: { enabled: false, idleMinutes: 60, graceMinutes: 10 },
    ...overrides,
  };
}

function sshdConfig(options: { dir: string; port: number; hostKeyPath: string; authorizedKeysPath: string; sftpServer: string }): string {
  return [
    `Port ${options.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${options.hostKeyPath}`,
    `PidFile ${path.join(options.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${options.authorizedKeysPath}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'StrictModes no',
    'UsePAM no',
    'PrintMotd no',
    'X11Forwarding no',
    'AllowTcpForwarding no',
    'MaxSessions 10',
    `Subsystem sftp ${options.sftpServer}`,
    '',
  ].join('\n');
}

async function findSftpServer(): Promise<string> {
  for (const candidate of SFTP_SERVER_CANDIDATES) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Try the next location.
    }
  }
  throw new Error(`sftp-server not found in ${SFTP_SERVER_CANDIDATES.join(', ')}; install openssh-server`);
}

async function launch(configPath: string, port: number): Promise<ChildProcess> {
  const child = spawn(SSHD, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => reject(new Error(`sshd exited with code ${code}: ${stderr}`)));
  });
  exited.catch(() => {});
  try {
    await Promise.race([waitForPort(port, 10_000), exited]);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return child;
}

async function descendantPids(rootPid: number): Promise<number[]> {
  const found: number[] = [];
  for (let frontier = [rootPid]; frontier.length > 0; ) {
    const next: number[] = [];
    for (const pid of frontier) next.push(...(await childPids(pid)));
    found.push(...next);
    frontier = next;
  }
  return found;
}

/** Sends SIGKILL to every process whose working directory is `dir` or below it. */
async function killProcessesIn(dir: string): Promise<void> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => '');
    if (cwd === dir || cwd.startsWith(`${dir}/`)) {
      try {
        process.kill(Number(entry), 'SIGKILL');
      } catch {
        // It exited meanwhile.
      }
    }
  }
}

async function childPids(parentPid: number): Promise<number[]> {
  try {
    const { stdout } = await execFileAsync('ps', ['-o', 'pid=', '--ppid', String(parentPid)]);
    return stdout
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    // ps exits 1 when no process matches.
    return [];
  }
}
