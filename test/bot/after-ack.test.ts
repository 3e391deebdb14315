import { describe, expect, it } from 'vitest';

import { createAfterAckQueue } from '../../src/bot/after-ack.js';

/** Lets every timer and immediate that is due run. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe('after-ack queue', () => {
  it('resumes one listener per loop iteration in order', async () => {
    const queue = createAfterAckQueue({ quietMs: 0 });
    const order: string[] = [];

    const listeners = ['first', 'second', 'third'].map(async (name) => {
      await queue.waitForTurn();
      order.push(name);
    });
    // Queued after the three waits: it runs in the first check phase, after the first listener only.
    setImmediate(() => order.push('other immediate'));
    await Promise.all(listeners);

    expect(order).toEqual(['first', 'other immediate', 'second', 'third']);
  });

  it('holds listeners while others keep joining', async () => {
    let clock = 0;
    const queue = createAfterAckQueue({ quietMs: 5, maxWaitMs: 200, now: () => clock });
    const order: string[] = [];

    const first = queue.waitForTurn().then(() => order.push('first'));
    await settle();
    expect(order).toEqual([]);

    clock = 3;
    const second = queue.waitForTurn().then(() => order.push('second'));
    await settle();
    expect(order).toEqual([]);

    // 7 ms after the last listener joined: the burst is over.
    clock = 10;
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
  });

  it('resumes the first listener after maxWaitMs', async () => {
    let clock = 0;
    const queue = createAfterAckQueue({ quietMs: 5, maxWaitMs: 200, now: () => clock });
    const order: string[] = [];

    void queue.waitForTurn().then(() => order.push('first'));
    clock = 250;
    void queue.waitForTurn().then(() => order.push('second'));
    await settle();

    // The second listener joined just now, so only the first has waited long enough.
    expect(order).toEqual(['first']);
    clock = 260;
    await settle();
    expect(order).toEqual(['first', 'second']);
  });

  it('resumes a listener that waits after the queue drained', async () => {
    const queue = createAfterAckQueue();
    const order: string[] = [];
    await queue.waitForTurn();

    // A queue that failed to restart would leave this wait pending until the test times out.
    await queue.waitForTurn().then(() => order.push('resumed'));

    expect(order).toEqual(['resumed']);
  });
});
