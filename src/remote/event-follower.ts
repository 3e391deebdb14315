/**
 * Follows a run's `events.jsonl` by byte offset until the run ends.
 *
 * Each poll reads the file from the stored offset with `readFileRange` (an SFTP read
 * at an explicit position). `tail -f` over SSH was rejected for three reasons. Lines in
 * flight when a connection drops are lost. The reader cannot learn at which byte the
 * last delivered line ended. And every followed run would hold an SSH channel open,
 * while sshd allows 10 sessions per connection by default (MaxSessions). A positioned read is stateless, so
 * after a reconnect the next read starts exactly where the last handled event ended.
 *
 * The offset advances only after `onEvents` resolves, and the caller stores it with
 * the run, so neither a dropped connection nor a restarted worker loses or repeats an
 * event.
 */
import type { Logger } from 'pino';

import { isConnectionError } from './errors.js';
import type { Host, HostProvider } from './host.js';
import { readExitCode, readRunStatus } from './launcher.js';
import { parseEventChunk, type EndEvent, type MalformedLine, type RunEvent } from './run-events.js';

export interface FollowRunEventsOptions {
  hosts: HostProvider;
  vmName: string;
  /** Run directory on the host; `~` is resolved there. */
  runDir: string;
  /** Byte offset in events.jsonl up to which events were already handled. */
  fromOffset: number;
  /** Milliseconds between polls while the run is alive. */
  pollMs: number;
  /** Receives each batch of events; the offset advances only after it resolves. An error it throws ends the follow. */
  onEvents(events: RunEvent[], newOffset: number): Promise<void> | void;
  /** Called after each failed attempt to reach the host, with the milliseconds since the first failure of this outage. */
  onUnreachable?(sinceMs: number, error: Error): Promise<void> | void;
  /** Called once when the host is reachable again after an outage. */
  onReconnected?(): Promise<void> | void;
  /** Lines that are not valid events; they are skipped. Default: logged as warnings. */
  onMalformed?(lines: MalformedLine[]): void;
  signal: AbortSignal;
  logger?: Logger;
  /** First reconnect delay in ms; it doubles after each failure up to maxBackoffMs. Default 1000. */
  initialBackoffMs?: number;
  /** Default 30000. */
  maxBackoffMs?: number;
  /** Stop with reason `unreachable` after this long without reaching the host. Default: never (abort instead). */
  giveUpAfterMs?: number;
  /** After an `end` event, how long to wait for exit_code before returning without it. Default 30000. */
  exitCodeGraceMs?: number;
  /**
   * Milliseconds without new events after which the follower checks that the process is
   * alive (`kill -0`, one command per check). A run that wrote events since the last
   * check counts as alive, so a steadily writing run needs no check. exit_code itself is read
   * on every poll. Default 10000.
   */
  livenessCheckMs?: number;
  /** Bytes per read; grown when one line is longer. Default 1 MiB. */
  readBytes?: number;
  /** Clock in ms, for tests. Default Date.now. */
  now?: () => number;
}

export interface FollowResult {
  /** `exited`: exit_code was written; `ended`: an end event came but no exit_code within the grace time. */
  reason: 'exited' | 'ended' | 'vanished' | 'unreachable' | 'aborted';
  /** Contents of exit_code, null when it was not written. */
  exitCode: number | null;
  sawEnd: boolean;
  endEvent: EndEvent | null;
  /** Byte offset after the last handled event. */
  offset: number;
}

const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Carries an error thrown by a caller's callback past the connection-error handling. */
class CallbackError extends Error {
  constructor(readonly original: unknown) {
    super('follower callback failed');
  }
}

async function callBack(callback: () => Promise<void> | void): Promise<void> {
  try {
    await callback();
  } catch (error) {
    throw new CallbackError(error);
  }
}

/**
 * Follows events until exit_code appears, the process vanishes without one, an end
 * event is not followed by exit_code within the grace time, the host stays unreachable
 * past `giveUpAfterMs`, or `signal` aborts.
 */
export async function followRunEvents(options: FollowRunEventsOptions): Promise<FollowResult> {
  const now = options.now ?? Date.now;
  const initialBackoffMs = options.initialBackoffMs ?? 1000;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const exitCodeGraceMs = options.exitCodeGraceMs ?? 30_000;
  const livenessCheckMs = options.livenessCheckMs ?? 10_000;
  const eventsPath = `${options.runDir.replace(/\/+$/, '')}/events.jsonl`;
  const onMalformed =
    options.onMalformed ?? ((lines: MalformedLine[]) => options.logger?.warn({ lines }, 'skipped malformed lines in events.jsonl'));

  let offset = options.fromOffset;
  let readBytes = options.readBytes ?? 1024 * 1024;
  let endEvent: EndEvent | null = null;
  let endSeenAt: number | null = null;
  let unreachableSince: number | null = null;
  let backoffMs = initialBackoffMs;
  let livenessCheckedAt = Number.NEGATIVE_INFINITY;

  const result = (reason: FollowResult['reason'], exitCode: number | null = null): FollowResult => ({
    reason,
    exitCode,
    sawEnd: endEvent !== null,
    endEvent,
    offset,
  });

  /** Reads and hands over every complete line after `offset`. */
  const drain = async (host: Host): Promise<void> => {
    for (;;) {
      const chunk = await host.readFileRange(eventsPath, offset, readBytes);
      const parsed = parseEventChunk(chunk.data, offset);
      if (parsed.malformed.length > 0) onMalformed(parsed.malformed);

      if (parsed.newOffset > offset) {
        await callBack(() => options.onEvents(parsed.events, parsed.newOffset));
        offset = parsed.newOffset;
        // New lines mean the process wrote lately, so the next liveness check can wait.
        // Each check is an SSH exec that forks processes on the VM. With 25 runs on one
        // loaded VM those execs queued behind each other for seconds, and every run's
        // events waited for its check. A backlog read after a restart delays the check
        // by at most livenessCheckMs.
        livenessCheckedAt = now();
        const end = parsed.events.find((event): event is EndEvent => event.type === 'end');
        if (end) {
          endEvent = end;
          endSeenAt ??= now();
        }
      } else if (chunk.data.length === readBytes) {
        // One line longer than a read: read more at once, up to a limit against a runaway writer.
        if (readBytes >= MAX_LINE_BYTES) throw new Error(`a line in ${eventsPath} at byte ${offset} exceeds ${MAX_LINE_BYTES} bytes`);
        readBytes *= 2;
        continue;
      }

      if (chunk.data.length < readBytes) return;
    }
  };

  while (!options.signal.aborted) {
    let host: Host | undefined;
    try {
      host = await options.hosts.get(options.vmName);
      await drain(host);
      const exitCode = await readExitCode(host, options.runDir);

      if (unreachableSince !== null) {
        unreachableSince = null;
        backoffMs = initialBackoffMs;
        await callBack(() => options.onReconnected?.());
      }

      if (exitCode !== null) {
        // The trainer flushed its last line before it exited, and the wrapper wrote exit_code after that.
        await drain(host);
        return result('exited', exitCode);
      }
      if (now() - livenessCheckedAt >= livenessCheckMs) {
        livenessCheckedAt = now();
        const state = await readRunStatus(host, options.runDir);
        if (state.pid !== null && !state.alive) {
          // The wrapper may have written exit_code between the two reads of the status script.
          const recheck = await readRunStatus(host, options.runDir);
          await drain(host);
          if (recheck.exitCode !== null) return result('exited', recheck.exitCode);
          return result('vanished');
        }
      }
      if (endSeenAt !== null && now() - endSeenAt >= exitCodeGraceMs) return result('ended');
    } catch (error) {
      if (error instanceof CallbackError) throw error.original;
      if (!isConnectionError(error)) throw error;
      // Without a host the connect itself failed, and a failed connect is not pooled.
      if (host) options.hosts.invalidate(options.vmName, host);
      unreachableSince ??= now();
      const sinceMs = now() - unreachableSince;
      options.logger?.warn({ err: { message: (error as Error).message }, sinceMs, offset }, 'host unreachable while following events');
      await options.onUnreachable?.(sinceMs, error as Error);
      if (options.giveUpAfterMs !== undefined && sinceMs >= options.giveUpAfterMs) return result('unreachable');

      await sleep(backoffMs, options.signal);
      backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
      continue;
    }

    await sleep(options.pollMs, options.signal);
  }

  return result('aborted');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
