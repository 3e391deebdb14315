import { describe, expect, it } from 'vitest';

import { createAfterAckQueue } from '../../src/bot/after-ack.js';

describe('after-ack queue', () => {
  it('resumes one listener per loop iteration in order', async () => {
    const queue = createAfterAckQueue();
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

  it('resumes a listener that waits after the queue drained', async () => {
    const queue = createAfterAckQueue();
    const order: string[] = [];
    await queue.waitForTurn();

    // A queue that failed to restart would leave this wait pending until the test times out.
    await queue.waitForTurn().then(() => order.push('resumed'));

    expect(order).toEqual(['resumed']);
  });
});
