import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { displayWidth } from '../../src/bot/console-chat.js';
import { createTestConsoleChat } from '../support/console-output.js';

/** Creates a ConsoleChat that prints into a string and shows U0DEMO as @演示用户. */
function createChat() {
  return createTestConsoleChat({ fileDir: path.join(os.tmpdir(), 'trainops-console-chat-unused'), timezone: 'Asia/Shanghai' });
}

/** Returns the terminal column where `needle` starts in `line`. */
function columnOf(line: string, needle: string): number {
  const index = line.indexOf(needle);
  if (index < 0) throw new Error(`${JSON.stringify(needle)} not found in ${JSON.stringify(line)}`);
  return displayWidth(line.slice(0, index));
}

const raw = (text: string) => ({ type: 'raw_text', text });
const user = (userId: string) => ({ type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'user', user_id: userId }] }] });

describe('ConsoleChat tables', () => {
  it('aligns columns after a user name', async () => {
    const { chat, printed } = createChat();
    await chat.postMessage({
      channel: 'C0DEMO',
      text: 'fallback',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: '本周计划' } },
        {
          type: 'table',
          rows: [
            [raw('编号'), raw('事项'), raw('负责人'), raw('VM'), raw('截止'), raw('状态')],
            [raw('1'), raw('训练 demo'), user('U0DEMO'), raw('local'), raw('12月10日 周四'), raw('待办')],
            [raw('2.1'), raw('train phi4'), raw('—'), raw('yanshiyiliao'), raw('12月7日 周一'), raw('进行中')],
          ],
        },
      ],
    });

    const lines = printed().split('\n');
    const header = lines.find((line) => line.includes('负责人'))!;
    const first = lines.find((line) => line.includes('@演示用户'))!;
    const second = lines.find((line) => line.includes('yanshiyiliao'))!;
    expect(first).not.toContain('U0DEMO');
    expect(columnOf(first, 'local')).toBe(columnOf(header, 'VM'));
    expect(columnOf(second, 'yanshiyiliao')).toBe(columnOf(header, 'VM'));
    expect(columnOf(first, '12月10日')).toBe(columnOf(header, '截止'));
    expect(columnOf(second, '12月7日')).toBe(columnOf(header, '截止'));
    expect(columnOf(first, '待办')).toBe(columnOf(header, '状态'));
    expect(columnOf(second, '进行中')).toBe(columnOf(header, '状态'));
  });
});

describe('displayWidth', () => {
  it.each([
    ['ascii', 'abc', 3],
    ['CJK ideographs', '演示用户', 8],
    ['CJK punctuation', '，。', 4],
    ['fullwidth forms', 'ＡＢ', 4],
    ['kana and Hangul', 'カ한', 4],
    ['emoji', '✅', 2],
    ['combining mark', 'e\u0301', 1],
    ['variation selector', '⚠\uFE0F', 1],
    ['em dash', '—', 1],
  ])('counts %s', (_name, text, width) => {
    expect(displayWidth(text)).toBe(width);
  });
});
