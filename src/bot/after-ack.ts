/**
 * Paces the work that listeners do after ack() behind the requests still to be acked.
 *
 * Bolt runs the rest of a listener right after its ack(), on the event loop that also
 * reads, verifies and acks every other request. In a burst of slash commands that work
 * (Redis writes, rendering, Slack calls) delayed the acks of the requests behind it.
 * A listener that awaits `waitForTurn()` resumes only once no other listener has joined
 * the queue for `quietMs`, that is once the burst has been acked, or once the first in
 * line has waited `maxWaitMs`. Then one listener resumes per event loop iteration, in
 * the check phase, after the I/O callbacks that were ready. Only the start is paced: a
 * resumed listener runs alongside the others.
 */
export interface AfterAckQueue {
  /** Resolves once this listener's turn has come; listeners resume in the order they called. */
  waitForTurn(): Promise<void>;
}

export interface AfterAckQueueOptions {
  /** Milliseconds without a new listener before work starts (default 5). */
  quietMs?: number;
  /** Maximum wait of the first listener in line, in ms, while others keep joining (default 200). */
  maxWaitMs?: number;
  /** Clock in ms, for tests. Default performance.now. */
  now?: () => number;
}

export function createAfterAckQueue(options: AfterAckQueueOptions = {}): AfterAckQueue {
  const quietMs = options.quietMs ?? 5;
  const maxWaitMs = options.maxWaitMs ?? 200;
  const now = options.now ?? (() => performance.now());
  const waiting: Array<{ resume: () => void; joinedAt: number }> = [];
  let lastJoinedAt = Number.NEGATIVE_INFINITY;
  let scheduled = false;

  const resumeNext = (): void => {
    scheduled = false;
    const first = waiting[0];
    if (!first) return;

    const sinceLastJoin = now() - lastJoinedAt;
    if (sinceLastJoin < quietMs && now() - first.joinedAt < maxWaitMs) {
      scheduled = true;
      setTimeout(resumeNext, Math.max(1, quietMs - sinceLastJoin));
      return;
    }
    waiting.shift();
    first.resume();
    if (waiting.length > 0) {
      scheduled = true;
      // An immediate queued from inside the check phase runs in the next loop iteration, after its poll phase.
      setImmediate(resumeNext);
    }
  };

  return {
    waitForTurn() {
      return new Promise<void>((resume) => {
        lastJoinedAt = now();
        waiting.push({ resume, joinedAt: lastJoinedAt });
        if (!scheduled) {
          scheduled = true;
          setImmediate(resumeNext);
        }
      });
    },
  };
}
