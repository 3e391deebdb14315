import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SlackChat } from '../../src/bot/slack-chat.js';
import { Announcer } from '../../src/jobs/announcer.js';
import { systemClock } from '../../src/jobs/clock.js';
import { runKeys } from '../../src/jobs/redis-keys.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

describe('Announcer', () => {
  let server: TestRedis;
  let redis: Redis;
  let slack: FakeSlack;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    slack = await startFakeSlack();
  });

  afterAll(async () => {
    redis.disconnect();
    await slack.stop();
    await server.stop();
  });

  const announcer = (options: { channelIntervalMs?: number; updateIntervalMs?: number } = {}): Announcer =>
    new Announcer({
      chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url, rejectRateLimitedCalls: true }),
      redis,
      keys: runKeys(`${server.prefix}${uniquePrefix('ann')}`),
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      channelIntervalMs: options.channelIntervalMs ?? 10,
      updateIntervalMs: options.updateIntervalMs ?? 200,
    });

  it('posts one message per key', async () => {
    const sender = announcer();
    const channel = uniquePrefix('C');

    const first = await sender.post('run:1:end:a1', { channel, text: '完成' });
    const again = await sender.post('run:1:end:a1', { channel, text: '完成' });

    expect(again).toEqual(first);
    expect(slack.callsOf('chat.postMessage').filter((call) => call.body.channel === channel)).toHaveLength(1);
    expect(await sender.isDone('run:1:end:a1')).toBe(true);
  });

  it('posts one message when two senders race', async () => {
    const keys = runKeys(`${server.prefix}${uniquePrefix('ann')}`);
    const make = (): Announcer =>
      new Announcer({ chat: new SlackChat({ token: 'x', slackApiUrl: slack.url }), redis, keys, clock: systemClock, logger: pino({ level: 'silent' }) });
    const channel = uniquePrefix('C');

    await Promise.all([make().post('k', { channel, text: 'once' }), make().post('k', { channel, text: 'once' })]);

    expect(slack.callsOf('chat.postMessage').filter((call) => call.body.channel === channel && call.status === 200)).toHaveLength(1);
  });

  it('finds a post whose record was lost', async () => {
    const keys = runKeys(`${server.prefix}${uniquePrefix('ann')}`);
    const chat = new SlackChat({ token: 'x', slackApiUrl: slack.url });
    const sender = new Announcer({ chat, redis, keys, clock: systemClock, logger: pino({ level: 'silent' }) });
    const channel = uniquePrefix('C');
    const root = await sender.post('root', { channel, text: 'root' });
    // A worker that died right after Slack accepted its post: marked as tried, never recorded.
    await redis.set(`${keys.announcement('run:3:progress:a1:s5')}:tried`, '1');
    const earlier = await chat.postMessage({ channel, threadTs: root.ts, text: 'step 5', announcementKey: 'run:3:progress:a1:s5' });

    const found = await sender.post('run:3:progress:a1:s5', { channel, threadTs: root.ts, text: 'step 5' });

    expect(found).toEqual(earlier);
    expect(slack.callsOf('chat.postMessage').filter((call) => call.body.channel === channel)).toHaveLength(2);
  });

  it('posts when the lookup fails', async () => {
    const keys = runKeys(`${server.prefix}${uniquePrefix('ann')}`);
    const sender = new Announcer({ chat: new SlackChat({ token: 'x', slackApiUrl: slack.url }), redis, keys, clock: systemClock, logger: pino({ level: 'silent' }) });
    const channel = uniquePrefix('C');
    await redis.set(`${keys.announcement('run:4:end:a1')}:tried`, '1');
    slack.errorNext('conversations.history', 1, 'missing_scope');

    const posted = await sender.post('run:4:end:a1', { channel, text: '✅ 训练完成' });

    expect(slack.messages.get(`${channel}:${posted.ts}`)?.text).toBe('✅ 训练完成');
  });

  it('obeys Retry-After and still delivers the final message', async () => {
    const sender = announcer();
    const channel = uniquePrefix('C');
    slack.failNext('chat.postMessage', 2, 1);

    const posted = await sender.post('run:2:end:a1', { channel, text: '✅ 训练完成' });

    const attempts = slack.callsOf('chat.postMessage').filter((call) => call.body.channel === channel);
    expect(attempts.map((call) => call.status)).toEqual([429, 429, 200]);
    expect((attempts[1] as { time: number }).time - (attempts[0] as { time: number }).time).toBeGreaterThanOrEqual(1000);
    expect(slack.messages.get(`${channel}:${posted.ts}`)?.text).toBe('✅ 训练完成');
  });

  it('coalesces root updates to the latest content', async () => {
    const sender = announcer({ updateIntervalMs: 300 });
    const channel = uniquePrefix('C');
    const root = await sender.post('root', { channel, text: 'step 0' });

    const updates = Array.from({ length: 10 }, (_, step) => sender.updateRoot(root, { text: `step ${step + 1}` }));
    await Promise.all(updates);

    const sent = slack.callsOf('chat.update').filter((call) => call.body.channel === channel);
    expect(sent.length).toBeLessThan(10);
    expect(sent.at(-1)?.body.text).toBe('step 10');
    expect(slack.messages.get(`${channel}:${root.ts}`)?.text).toBe('step 10');
  });

  it('retries a rate-limited root update', async () => {
    const sender = announcer();
    const channel = uniquePrefix('C');
    const root = await sender.post('root', { channel, text: 'queued' });
    slack.failNext('chat.update', 1, 1);

    await sender.updateRoot(root, { text: 'succeeded' });

    expect(slack.messages.get(`${channel}:${root.ts}`)?.text).toBe('succeeded');
  });
});
