/**
 * `Host` on the bot's own machine, for VMs with `transport: local` (the demo and tests).
 * Commands run with child_process.spawn from argv, never through a shell; files go
 * through node:fs. `~` and relative paths resolve against os.homedir().
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, open, rename, rm, stat, writeFile as writeFileFs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { ExecOptions, ExecResult, Host } from './host.js';

export class LocalHost implements Host {
  constructor(
    readonly vmName: string,
    private readonly homeDir: string = os.homedir(),
  ) {}

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const [command, ...args] = argv;
    if (command === undefined) throw new RangeError('argv must name a command');
    const cwd = options.cwd === undefined ? undefined : await this.resolvePath(options.cwd);
    // Report a missing folder or program with the exit codes a shell gives over SSH
    // (1 for a failed cd in bash, 127 for command not found), so both hosts read alike.
    if (cwd !== undefined && !(await isDirectory(cwd))) {
      return { stdout: '', stderr: `cd: ${cwd}: No such file or directory\n`, code: 1, signal: null };
    }

    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let timedOut = false;
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              child.kill('SIGKILL');
            }, options.timeoutMs);

      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      // A command that exits without reading its stdin closes the pipe early; that is not an error.
      child.stdin.on('error', () => {});
      child.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (error.code === 'ENOENT') resolve({ stdout: '', stderr: `${command}: command not found\n`, code: 127, signal: null });
        else reject(error);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
          code,
          signal,
          ...(timedOut ? { timedOut } : {}),
        });
      });
      child.stdin.end(options.stdin ?? '');
    });
  }

  async readFileRange(filePath: string, offset: number, maxBytes: number): Promise<{ data: Buffer; exists: boolean; size: number }> {
    assertRange(offset, maxBytes);
    let handle;
    try {
      handle = await open(await this.resolvePath(filePath), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { data: Buffer.alloc(0), exists: false, size: 0 };
      throw error;
    }

    try {
      const { size } = await handle.stat();
      const length = Math.max(0, Math.min(maxBytes, size - offset));
      const data = Buffer.alloc(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(data, filled, length - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return { data: data.subarray(0, filled), exists: true, size };
    } finally {
      await handle.close();
    }
  }

  async writeFile(filePath: string, content: string | Buffer, mode?: number): Promise<void> {
    const target = await this.resolvePath(filePath);
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await writeFileFs(temporary, content, mode === undefined ? {} : { mode });
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async putDirectory(localPath: string, remotePath: string): Promise<void> {
    const target = await this.resolvePath(remotePath);
    const suffix = randomBytes(4).toString('hex');
    const partial = `${target}.partial-${suffix}`;
    const previous = `${target}.old-${suffix}`;
    await mkdir(path.dirname(target), { recursive: true });

    try {
      await cp(localPath, partial, { recursive: true });
      await swapIntoPlace(partial, target, previous);
    } finally {
      await rm(partial, { recursive: true, force: true });
      await rm(previous, { recursive: true, force: true });
    }
  }

  async resolvePath(filePath: string): Promise<string> {
    return expandHome(filePath, this.homeDir);
  }

  async ping(): Promise<void> {}
}

/** Expands `~` and `~/…` against home and makes relative paths absolute under home, as SFTP does. */
export function expandHome(filePath: string, homeDir: string): string {
  if (filePath === '~') return homeDir;
  if (filePath.startsWith('~/')) return path.posix.join(homeDir, filePath.slice(2));
  if (filePath.startsWith('~')) throw new RangeError(`only ~ and ~/ paths are supported, not another user's home: ${filePath}`);
  return path.posix.isAbsolute(filePath) ? filePath : path.posix.join(homeDir, filePath);
}

export function assertRange(offset: number, maxBytes: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, not ${offset}`);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be a non-negative integer, not ${maxBytes}`);
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** Moves `partial` to `target`, first moving an existing `target` aside to `previous`. */
async function swapIntoPlace(partial: string, target: string, previous: string): Promise<void> {
  try {
    await rename(target, previous);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await rename(partial, target);
}
