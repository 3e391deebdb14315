/**
 * Paces the work that listeners do after ack() behind the requests still to be acked.
 *
 * Bolt runs the rest of a listener right after its ack(), on the event loop that also
 * reads, verifies and acks every other request. In a burst of slash commands that work
 * (Redis writes, rendering, Slack calls) delayed the acks of the requests behind it.
 * A listener that awaits `waitForTurn()` resumes in the event loop's check phase, after
 * the I/O callbacks that were ready, and only one waiting listener resumes per loop
 * iteration. So each iteration reads and acks the requests that have arrived before
 * more work starts. Only the start is paced: a resumed listener runs alongside the others.
 */
export interface AfterAckQueue {
  /** Resolves once the requests read so far have been handled and the listeners queued earlier have started. */
  waitForTurn(): Promise<void>;
}

export function createAfterAckQueue(): AfterAckQueue {
  const waiting: Array<() => void> = [];

  const resumeNext = (): void => {
    waiting.shift()?.();
    // An immediate queued from inside the check phase runs in the next loop iteration, after its poll phase.
    if (waiting.length > 0) setImmediate(resumeNext);
  };

  return {
    waitForTurn() {
      return new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === 1) setImmediate(resumeNext);
      });
    },
  };
}
