import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { systemClock } from '../../src/jobs/clock.js';
import { RunNotFoundError, RunStore, type NewRun } from '../../src/jobs/run-store.js';
import { IllegalTransitionError } from '../../src/jobs/run-state.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

const newRun: NewRun = { kind: 'train', recipe: 'medical-phi4', vm: 'yanshiyiliao', userId: 'U0ALICE', channel: 'C0TRAIN', overrides: { lr: 0.0001 } };

describe('RunStore', () => {
  let server: TestRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  const freshStore = (): RunStore => new RunStore(redis, `${server.prefix}${uniquePrefix('runs')}`, systemClock);

  it('creates runs with increasing ids', async () => {
    const store = freshStore();

    const first = await store.create(newRun);
    const second = await store.create(newRun);

    expect(first.id).toBe('1');
    expect(second.id).toBe('2');
    expect(first.status).toBe('queued');
    expect(first.attempt).toBe(1);
    expect(first.eventOffset).toBe(0);
    expect(await store.get('1')).toEqual(first);
  });

  it('transitions along the lifecycle and indexes active runs', async () => {
    const store = freshStore();
    const run = await store.create(newRun);

    await store.transition(run.id, 'starting_vm');
    await store.transition(run.id, 'syncing');
    await store.transition(run.id, 'running', { launchedAt: '2026-12-07T09:00:00+08:00' });
    expect((await store.listActive()).map((active) => active.id)).toEqual([run.id]);

    const ended = await store.transition(run.id, 'succeeded', { outputPath: '/runs/1/output' });

    expect(ended.status).toBe('succeeded');
    expect(ended.launchedAt).toBe('2026-12-07T09:00:00+08:00');
    expect(await store.listActive()).toEqual([]);
    expect((await store.listRecent()).map((recent) => recent.id)).toEqual([run.id]);
  });

  it('rejects an illegal transition', async () => {
    const store = freshStore();
    const run = await store.create(newRun);
    await store.transition(run.id, 'cancelled');

    const error = await store.transition(run.id, 'running').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(IllegalTransitionError);
    expect((await store.require(run.id)).status).toBe('cancelled');
  });

  it('keeps concurrent updates of one run', async () => {
    const store = freshStore();
    const run = await store.create(newRun);

    await Promise.all(
      Array.from({ length: 20 }, () => store.update(run.id, (current) => ({ eventOffset: current.eventOffset + 1 }))),
    );

    expect((await store.require(run.id)).eventOffset).toBe(20);
  });

  it('finds a run by its thread', async () => {
    const store = freshStore();
    const run = await store.create(newRun);

    await store.setThreadTs(run.id, '1733300000.000100');

    expect((await store.findByThread('C0TRAIN', '1733300000.000100'))?.id).toBe(run.id);
    expect(await store.findByThread('C0TRAIN', '1733300000.999999')).toBeUndefined();
  });

  it('throws RunNotFoundError for an unknown id', async () => {
    const store = freshStore();

    await expect(store.require('404')).rejects.toBeInstanceOf(RunNotFoundError);
  });
});
