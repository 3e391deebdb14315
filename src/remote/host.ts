/**
 * A machine that runs trainer processes: a VM over SSH (`SshHost`) or this machine
 * (`LocalHost`, for `transport: local`). Commands are argument lists; implementations
 * quote them for the remote shell, so no caller ever builds a shell string from input.
 */
export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal?: string | null;
  /** True when `timeoutMs` passed and the command was killed (code is then null). */
  timedOut?: boolean;
}

export interface ExecOptions {
  cwd?: string;
  /** Text written to the command's standard input. */
  stdin?: string;
  timeoutMs?: number;
}

export interface Host {
  readonly vmName: string;
  /** Runs argv (not a shell string) and resolves with its output, whatever its exit code. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Reads bytes [offset, offset + maxBytes) of a file; an absent file reads as empty with exists false. */
  readFileRange(path: string, offset: number, maxBytes: number): Promise<{ data: Buffer; exists: boolean; size: number }>;
  /** Writes through a temporary file and a rename, creating missing parent folders, so readers never see part of it. */
  writeFile(path: string, content: string | Buffer, mode?: number): Promise<void>;
  /** Copies a local directory tree to `remotePath`, replacing what is there; a partial copy never appears at `remotePath`. */
  putDirectory(localPath: string, remotePath: string): Promise<void>;
  /** Expands `~` and relative paths against the login user's home directory. */
  resolvePath(path: string): Promise<string>;
  /** Throws a HostUnreachableError (src/remote/errors.ts) when the host cannot be reached. */
  ping(): Promise<void>;
}

/** Hands out one pooled Host per VM name. */
export interface HostProvider {
  get(vmName: string): Promise<Host>;
  /**
   * Drops the pooled connection so the next `get` reconnects. With `host`, only when
   * that host is still the pooled one, so a caller holding a stale host cannot close
   * the connection another caller has just opened.
   */
  invalidate(vmName: string, host?: Host): void;
  closeAll(): Promise<void>;
}
