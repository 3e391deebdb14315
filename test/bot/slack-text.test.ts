import { describe, expect, it } from 'vitest';

import { decodeSlackEscapes } from '../../src/bot/slack-text.js';

describe('decodeSlackEscapes', () => {
  it.each([
    ['plan add "A &amp; B" due 明天', 'plan add "A & B" due 明天'],
    ['train demo lr=1e-4 &lt;x&gt;', 'train demo lr=1e-4 <x>'],
    ['oncall set <@U0DEMO|演示用户>', 'oncall set <@U0DEMO|演示用户>'],
    ['literal &amp;lt; stays', 'literal &lt; stays'],
    ['无转义', '无转义'],
  ])('%s', (input, expected) => {
    expect(decodeSlackEscapes(input)).toBe(expected);
  });
});
