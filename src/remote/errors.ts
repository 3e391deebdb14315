/**
 * Errors of the remote layer, each with a stable `code` that callers switch on (the
 * failure classifier, the Slack message catalog). Messages name the VM and what to
 * check, and never carry key material, passphrases or passwords: library messages are
 * passed through `redactSecrets` before they are embedded.
 */

/** The host could not be reached or the connection dropped: retry later, maybe mark the run lost. */
export class HostUnreachableError extends Error {
  readonly code = 'HOST_UNREACHABLE';

  constructor(
    readonly vmName: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach VM "${vmName}": ${redactSecrets(detail)}`, options);
    this.name = 'HostUnreachableError';
  }
}

/** The server presented a host key other than the pinned one; never retried automatically. */
export class HostKeyMismatchError extends Error {
  readonly code = 'HOST_KEY_MISMATCH';

  constructor(
    readonly vmName: string,
    readonly expectedFingerprint: string,
    readonly actualFingerprint: string,
  ) {
    super(
      `host key of VM "${vmName}" is ${actualFingerprint}, but vms.${vmName}.ssh.hostKey pins ${expectedFingerprint}; ` +
        'if the VM was rebuilt, check the new key out of band (ssh-keygen -lf on the VM) and update the config',
    );
    this.name = 'HostKeyMismatchError';
  }
}

/** The VM rejected the client key, or the key file cannot be read: fix the config, retrying will not help. */
export class HostAuthenticationError extends Error {
  readonly code = 'HOST_AUTH_FAILED';

  constructor(
    readonly vmName: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot log in to VM "${vmName}": ${redactSecrets(detail)}; check vms.${vmName}.ssh.user and ssh.keyPath`, options);
    this.name = 'HostAuthenticationError';
  }
}

/** A remote command exited non-zero where the caller needed it to succeed. */
export class RemoteCommandError extends Error {
  readonly code = 'REMOTE_COMMAND_FAILED';

  constructor(
    readonly vmName: string,
    /** The program only (argv[0]): later arguments may carry user text. */
    readonly command: string,
    readonly exitCode: number | null,
    /** Last part of the command's standard error, secrets redacted. */
    readonly stderrTail: string,
  ) {
    super(`${command} failed on VM "${vmName}" with exit code ${exitCode ?? 'none'}: ${stderrTail || '(no stderr)'}`);
    this.name = 'RemoteCommandError';
  }
}

const STDERR_TAIL_CHARS = 500;

/** Keeps the end of stderr, where the reason for a failure usually is, without secrets. */
export function stderrTail(stderr: string): string {
  const trimmed = stderr.trim();
  const tail = trimmed.length > STDERR_TAIL_CHARS ? `…${trimmed.slice(-STDERR_TAIL_CHARS)}` : trimmed;
  return redactSecrets(tail);
}

/** Removes PEM blocks and `password=`/`passphrase:` values from text bound for logs or messages. */
export function redactSecrets(text: string): string {
  return text
    .replace(/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g, '[redacted key]')
    .replace(/\b(password|passphrase|passwd)(\s*[=:]\s*)\S+/gi, '$1$2[redacted]');
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * Tells whether an error from ssh2 or node-ssh means the connection is gone (as
 * opposed to a remote command or file failing), so callers drop the pooled host.
 */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof HostUnreachableError) return true;
  if (!(error instanceof Error)) return false;
  const { code, level } = error as Error & { code?: unknown; level?: unknown };
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
  if (level === 'client-socket' || level === 'client-timeout') return true;
  return /Not connected|No response from server|connection (lost|closed)|Timed out while waiting for handshake/i.test(
    error.message,
  );
}
