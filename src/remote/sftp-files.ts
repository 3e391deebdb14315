/**
 * File reads and writes over one ssh2 SFTP session, for `SshHost`. Reads name their
 * byte position in each request, so they are exact at any offset and binary-safe.
 */

/** ssh2's error for a failed SFTP request carries the SFTP status code in `code`. */
export type SftpCallback<T> = (error: (Error & { code?: unknown }) | null | undefined, result: T) => void;

/**
 * The part of ssh2's SFTP session used here. node-ssh's typings refer to ssh2's, which
 * are not installed, so it is typed by hand.
 */
export interface SftpSession {
  open(path: string, flags: string, callback: SftpCallback<Buffer>): void;
  fstat(handle: Buffer, callback: SftpCallback<{ size: number }>): void;
  read(
    handle: Buffer,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (error: Error | null | undefined, bytesRead: number) => void,
  ): void;
  close(handle: Buffer, callback: (error: Error | null | undefined) => void): void;
  writeFile(path: string, data: Buffer, options: { mode?: number }, callback: (error: Error | null | undefined) => void): void;
  realpath(path: string, callback: SftpCallback<string>): void;
  end(): void;
  on(event: 'close' | 'error', listener: (...args: unknown[]) => void): void;
}

/** SSH_FX_NO_SUCH_FILE, the SFTP status for a missing file. */
const SFTP_NO_SUCH_FILE = 2;

/** Wraps one callback-style SFTP request in a promise. */
export function sftpCall<T>(start: (done: SftpCallback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, result) => (error ? reject(error) : resolve(result)));
  });
}

/** Reads bytes [offset, offset + maxBytes) of `path`; a missing file reads as empty with exists false. */
export async function readSftpRange(
  sftp: SftpSession,
  path: string,
  offset: number,
  maxBytes: number,
): Promise<{ data: Buffer; exists: boolean; size: number }> {
  let handle: Buffer;
  try {
    handle = await sftpCall<Buffer>((done) => sftp.open(path, 'r', done));
  } catch (error) {
    if ((error as { code?: unknown }).code === SFTP_NO_SUCH_FILE) return { data: Buffer.alloc(0), exists: false, size: 0 };
    throw error;
  }

  try {
    const { size } = await sftpCall<{ size: number }>((done) => sftp.fstat(handle, done));
    const length = Math.max(0, Math.min(maxBytes, size - offset));
    const data = Buffer.alloc(length);
    let filled = 0;
    // A server may return fewer bytes than requested, so read until the range is full or EOF.
    while (filled < length) {
      const bytesRead = await sftpCall<number>((done) => sftp.read(handle, data, filled, length - filled, offset + filled, done));
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { data: data.subarray(0, filled), exists: true, size };
  } finally {
    await sftpCall<void>((done) => sftp.close(handle, (error) => done(error, undefined))).catch(() => {});
  }
}

/** Writes `data` to `path`, creating or truncating it. */
export function writeSftpFile(sftp: SftpSession, path: string, data: Buffer, mode?: number): Promise<void> {
  return sftpCall<void>((done) => sftp.writeFile(path, data, mode === undefined ? {} : { mode }, (error) => done(error, undefined)));
}
