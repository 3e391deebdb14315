/**
 * `Host` over one SSH connection (node-ssh on ssh2) to a VM, with its host key pinned.
 *
 * Commands are argv quoted by `quoteCommand`; files move over one SFTP session per
 * connection, which reads and writes exact byte ranges and binary data. When the
 * connection closes, every later call fails with HostUnreachableError and `onClose`
 * listeners run, so `HostPool` drops the host and the next `get` reconnects.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';

import { NodeSSH } from 'node-ssh';
import type { Logger } from 'pino';

import type { VmConfig } from '../config/schema.js';
import { HostAuthenticationError, HostKeyMismatchError, HostUnreachableError, RemoteCommandError, isConnectionError, redactSecrets, stderrTail } from './errors.js';
import type { ExecOptions, ExecResult, Host } from './host.js';
import { assertRange, expandHome } from './local-host.js';
import { readSftpRange, sftpCall, writeSftpFile, type SftpSession } from './sftp-files.js';
import { quoteArg, quoteCommand } from './shell-quote.js';

type SshSettings = NonNullable<VmConfig['ssh']>;
/**
 * Command channels open at once on one connection. sshd refuses channels beyond its
 * MaxSessions (10 by default) with "open failed", and the SFTP session takes one.
 */
const DEFAULT_MAX_EXEC_CHANNELS = 8;
/**
 * Waits before each retry of a command whose channel sshd refused. With 25 runs on one
 * loaded sshd, it refused a channel while at most 9 were open on this side, likely
 * because it frees a session a little after the client sees the channel close.
 */
const CHANNEL_RETRY_DELAYS_MS = [100, 300, 1000, 3000];

/** Computes the OpenSSH fingerprint of a raw host key: `SHA256:` and unpadded base64, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(hostKey: Buffer): string {
  return `SHA256:${createHash('sha256').update(hostKey).digest('base64').replace(/=+$/, '')}`;
}

export interface SshHostOptions {
  /** Command channels open at once (default 8: with the SFTP session, under sshd's default MaxSessions of 10). */
  maxExecChannels?: number;
}

export class SshHost implements Host {
  private closed = false;
  private readonly closeListeners: Array<() => void> = [];
  private sftpSession: Promise<SftpSession> | undefined;
  private homeDir: Promise<string> | undefined;
  private openChannels = 0;
  private readonly channelQueue: Array<() => void> = [];

  private constructor(
    readonly vmName: string,
    private readonly ssh: NodeSSH,
    private readonly logger: Logger,
    private readonly maxExecChannels: number,
  ) {}

  /**
   * Connects and authenticates with the key at `ssh.keyPath`, accepting only the host
   * key whose fingerprint is `ssh.hostKey`. Throws HostKeyMismatchError for another
   * key, HostAuthenticationError when the key is unreadable or rejected, and
   * HostUnreachableError when the VM cannot be reached.
   */
  static async connect(vmName: string, settings: SshSettings, logger: Logger, options: SshHostOptions = {}): Promise<SshHost> {
    try {
      await access(settings.keyPath, constants.R_OK);
    } catch (error) {
      throw new HostAuthenticationError(vmName, `private key ${settings.keyPath} is not readable (${(error as NodeJS.ErrnoException).code})`);
    }

    const ssh = new NodeSSH();
    const expected = settings.hostKey.replace(/=+$/, '');
    let presented: string | undefined;

    try {
      await ssh.connect({
        host: settings.host,
        port: settings.port,
        username: settings.user,
        privateKeyPath: settings.keyPath,
        keepaliveInterval: settings.keepaliveSeconds * 1000,
        keepaliveCountMax: 3,
        readyTimeout: settings.readyTimeoutSeconds * 1000,
        hostVerifier: (key: Buffer) => {
          presented = fingerprintOf(key);
          return presented === expected;
        },
      });
    } catch (error) {
      ssh.dispose();
      if (presented !== undefined && presented !== expected) throw new HostKeyMismatchError(vmName, expected, presented);
      if ((error as { level?: unknown }).level === 'client-authentication') {
        throw new HostAuthenticationError(vmName, `${settings.user}@${settings.host}:${settings.port}: ${describe(error)}`, { cause: error });
      }
      throw new HostUnreachableError(vmName, `${settings.user}@${settings.host}:${settings.port}: ${describe(error)}`, { cause: error });
    }

    const host = new SshHost(vmName, ssh, logger, options.maxExecChannels ?? DEFAULT_MAX_EXEC_CHANNELS);
    host.watchConnection();
    return host;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Registers a listener that runs once when the connection closes for any reason. */
  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    // coreutils timeout kills the command on the VM. Closing the channel does not, and a
    // "signal" channel request did not reach the command in a root session (OpenSSH 9.2).
    const timeoutArgv =
      options.timeoutMs === undefined ? [] : ['timeout', '-s', 'KILL', (options.timeoutMs / 1000).toFixed(3)];
    const command = quoteCommand([...timeoutArgv, ...argv]);
    const full = options.cwd === undefined ? command : `cd ${quoteArg(await this.resolvePath(options.cwd))} && ${command}`;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const startedAt = Date.now();

    const response = await this.withChannel(() =>
      this.guard(() =>
        this.ssh.execCommand(full, {
          ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
          noTrim: true,
          onStdout: (chunk) => stdout.push(chunk),
          onStderr: (chunk) => stderr.push(chunk),
        }),
      ),
    );

    // OpenSSH always reports an exit status or an exit signal for a command that ended,
    // so neither means the connection dropped while the command ran.
    if (response.code === null && response.signal === null) {
      this.markClosed();
      throw new HostUnreachableError(this.vmName, `connection lost while running ${argv[0]}`);
    }

    // A command killed by timeout shows as exit code 137 (128 + SIGKILL) or, as observed
    // with bash as the login shell on OpenSSH 9.2, as exit signal KILL.
    const killed = response.code === 137 || response.signal === 'KILL' || response.signal === 'SIGKILL';
    const timedOut = options.timeoutMs !== undefined && killed && Date.now() - startedAt >= options.timeoutMs;
    return {
      stdout: Buffer.concat(stdout).toString('utf8'),
      stderr: Buffer.concat(stderr).toString('utf8'),
      code: timedOut ? null : response.code,
      signal: timedOut ? 'SIGKILL' : response.signal,
      ...(timedOut ? { timedOut } : {}),
    };
  }

  async readFileRange(filePath: string, offset: number, maxBytes: number): Promise<{ data: Buffer; exists: boolean; size: number }> {
    assertRange(offset, maxBytes);
    const resolved = await this.resolvePath(filePath);
    const sftp = await this.sftp();

    return this.guard(() => readSftpRange(sftp, resolved, offset, maxBytes));
  }

  async writeFile(filePath: string, content: string | Buffer, mode?: number): Promise<void> {
    const target = await this.resolvePath(filePath);
    const temporary = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    const sftp = await this.sftp();

    await this.mustRun(['mkdir', '-p', path.posix.dirname(target)]);
    await this.guard(() => writeSftpFile(sftp, temporary, Buffer.from(content), mode));
    // mv replaces the target atomically (rename(2)); SFTP's own rename refuses to replace an existing file.
    await this.mustRun(['mv', '-f', temporary, target]);
  }

  async putDirectory(localPath: string, remotePath: string): Promise<void> {
    const target = await this.resolvePath(remotePath);
    const suffix = randomBytes(4).toString('hex');
    const partial = `${target}.partial-${suffix}`;
    const sftp = await this.sftp();
    const failures: string[] = [];

    await this.mustRun(['mkdir', '-p', partial]);
    try {
      const complete = await this.guard(() =>
        this.ssh.putDirectory(localPath, partial, {
          recursive: true,
          concurrency: 4,
          sftp: sftp as never,
          validate: () => true,
          tick: (localFile, _remoteFile, error) => {
            if (error) failures.push(`${localFile}: ${describe(error)}`);
          },
        }),
      );
      if (!complete) throw new Error(`upload to ${partial} failed for ${failures.length} files: ${failures.slice(0, 3).join('; ')}`);

      // Positional parameters carry the paths, so the script itself needs no quoting.
      await this.mustRun([
        'sh',
        '-c',
        'set -e; if [ -e "$2" ]; then mv "$2" "$3"; fi; mv "$1" "$2"; rm -rf "$3"',
        'put-directory',
        partial,
        target,
        `${target}.old-${suffix}`,
      ]);
    } catch (error) {
      if (!this.closed) await this.exec(['rm', '-rf', partial]).catch(() => {});
      throw error;
    }
  }

  async resolvePath(filePath: string): Promise<string> {
    if (path.posix.isAbsolute(filePath)) return filePath;
    this.homeDir ??= this.sftp().then((sftp) => this.guard(() => sftpCall<string>((done) => sftp.realpath('.', done))));
    const home = await this.homeDir.catch((error: unknown) => {
      this.homeDir = undefined;
      throw error;
    });
    return expandHome(filePath, home);
  }

  async ping(): Promise<void> {
    const result = await this.exec(['true'], { timeoutMs: 10_000 });
    if (result.code !== 0) throw new HostUnreachableError(this.vmName, result.timedOut ? 'no reply within 10 s' : `true exited with ${result.code}`);
  }

  /** Closes the connection; the pool calls this on invalidate and shutdown. */
  close(): void {
    this.markClosed();
    this.ssh.dispose();
  }

  private watchConnection(): void {
    const connection = this.ssh.connection;
    if (!connection) {
      this.markClosed();
      return;
    }
    // node-ssh adds an 'error' listener per command being opened; up to maxExecChannels run at once.
    connection.setMaxListeners(this.maxExecChannels + 10);
    // ssh2 emits 'error' for socket failures such as ECONNRESET at any time; without a
    // listener Node would throw it and end the process.
    connection.on('error', (error: Error) => {
      this.logger.warn({ err: redactError(error) }, 'ssh connection error');
      this.markClosed();
    });
    connection.on('close', () => this.markClosed());
    connection.on('end', () => this.markClosed());
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.sftpSession = undefined;
    this.logger.info('ssh connection closed');
    for (const listener of this.closeListeners.splice(0)) listener();
  }

  private async sftp(): Promise<SftpSession> {
    if (this.closed) throw new HostUnreachableError(this.vmName, 'connection closed');
    if (!this.sftpSession) {
      const session = this.guard(async () => (await this.ssh.requestSFTP()) as unknown as SftpSession);
      this.sftpSession = session;
      session.then(
        (sftp) => {
          sftp.on('error', () => {});
          sftp.on('close', () => {
            if (this.sftpSession === session) this.sftpSession = undefined;
          });
        },
        () => {
          if (this.sftpSession === session) this.sftpSession = undefined;
        },
      );
    }
    return this.sftpSession;
  }

  /**
   * Runs `operation` once fewer than maxExecChannels commands are running, in arrival
   * order. A channel sshd refuses is retried after CHANNEL_RETRY_DELAYS_MS, which is
   * safe because the command never started.
   */
  private async withChannel<T>(operation: () => Promise<T>): Promise<T> {
    if (this.openChannels >= this.maxExecChannels) await new Promise<void>((resolve) => this.channelQueue.push(resolve));
    else this.openChannels += 1;
    try {
      for (const delayMs of CHANNEL_RETRY_DELAYS_MS) {
        try {
          return await operation();
        } catch (error) {
          if (!isChannelOpenRejected(error)) throw error;
          this.logger.warn({ err: redactError(error as Error), retryInMs: delayMs }, 'sshd rejected opening a command channel; retrying');
          await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
      }
      return await operation();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = this.channelQueue.shift();
      if (next) next();
      else this.openChannels -= 1;
    }
  }

  /** Runs argv and throws RemoteCommandError unless it exits 0. */
  private async mustRun(argv: readonly string[]): Promise<void> {
    const result = await this.exec(argv);
    if (result.code !== 0) throw new RemoteCommandError(this.vmName, argv[0] ?? '', result.code, stderrTail(result.stderr));
  }

  /** Turns connection failures into HostUnreachableError and marks this host closed. */
  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) throw new HostUnreachableError(this.vmName, 'connection closed');
    try {
      return await operation();
    } catch (error) {
      if (error instanceof HostUnreachableError) throw error;
      if (this.closed || !this.ssh.isConnected() || isConnectionError(error)) {
        this.markClosed();
        throw new HostUnreachableError(this.vmName, describe(error), { cause: error });
      }
      throw error;
    }
  }
}

/**
 * Tells whether an error is ssh2's SSH_MSG_CHANNEL_OPEN_FAILURE with reason 2,
 * SSH_OPEN_CONNECT_FAILED (RFC 4254 section 5.1). OpenSSH 9.2 sends it, described as
 * "open failed", for a session channel beyond MaxSessions.
 */
function isChannelOpenRejected(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('(SSH) Channel open failure') && (error as { reason?: unknown }).reason === 2;
}

function describe(error: unknown): string {
  return redactSecrets(error instanceof Error ? error.message : String(error));
}

function redactError(error: Error): { message: string; code?: unknown } {
  return { message: describe(error), code: (error as { code?: unknown }).code };
}
