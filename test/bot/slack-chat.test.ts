import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ChatApiError, ChatRateLimitedError, SlackChat } from '../../src/bot/slack-chat.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';

describe('SlackChat against the fake Web API', () => {
  let slack: FakeSlack;

  beforeAll(async () => {
    slack = await startFakeSlack();
  });

  afterAll(async () => {
    await slack.stop();
  });

  it('posts, threads and updates messages', async () => {
    const chat = new SlackChat({ token: 'xoxb-canary-token', slackApiUrl: slack.url });

    const root = await chat.postMessage({ channel: 'C1', text: '根消息', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x' } }] });
    await chat.postMessage({ channel: 'C1', text: '回复', threadTs: root.ts });
    await chat.updateMessage(root, { text: '已更新' });

    const reply = slack.callsOf('chat.postMessage')[1];
    expect(reply?.body.thread_ts).toBe(root.ts);
    expect(slack.callsOf('chat.postMessage')[0]?.body.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: 'x' } }]);
    expect(slack.messages.get(`C1:${root.ts}`)?.text).toBe('已更新');
    expect(reply?.authorization).toBe('Bearer xoxb-canary-token');
  });

  it('uploads a file into a thread with files.uploadV2', async () => {
    const chat = new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url });
    const root = await chat.postMessage({ channel: 'C2', text: 'root' });
    const content = Buffer.from('\x89PNG fake bytes');

    await chat.uploadFile({ channel: 'C2', threadTs: root.ts, filename: 'loss.png', title: '损失曲线', content });

    const [file] = [...slack.files.values()].filter((entry) => entry.filename === 'loss.png');
    expect(file?.content?.equals(content)).toBe(true);
    expect(file?.channel).toBe('C2');
    expect(file?.threadTs).toBe(root.ts);
    expect(file?.title).toBe('损失曲线');
  });

  it('waits out 429 itself by default', async () => {
    const chat = new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url });
    slack.failNext('chat.postMessage', 1, 1);

    const posted = await chat.postMessage({ channel: 'C3', text: 'after 429' });

    expect(slack.messages.get(`C3:${posted.ts}`)?.text).toBe('after 429');
  });

  it('rejects 429 with Retry-After when asked', async () => {
    const chat = new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url, rejectRateLimitedCalls: true });
    slack.failNext('chat.update', 1, 7);

    const error = await chat.updateMessage({ channel: 'C3', ts: '1.000001' }, { text: 'x' }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ChatRateLimitedError);
    expect((error as ChatRateLimitedError).retryAfterSeconds).toBe(7);
  });

  it('turns ok false into ChatApiError', async () => {
    const chat = new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url });
    slack.errorNext('chat.postMessage', 1, 'not_in_channel');

    const error = await chat.postMessage({ channel: 'C4', text: 'x' }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ChatApiError);
    expect((error as ChatApiError).slackError).toBe('not_in_channel');
  });
});
