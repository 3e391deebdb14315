/** Console adapter pieces for tests: output streams that collect text and a ConsoleChat that prints into one. */
import { Writable } from 'node:stream';

import { ConsoleChat } from '../../src/bot/console-chat.js';

export interface StringSink {
  stream: Writable;
  /** Everything written to `stream` so far. */
  text(): string;
}

/** Creates a Writable that keeps everything written to it as one string. */
export function createStringSink(): StringSink {
  let written = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      written += chunk.toString();
      callback();
    },
  });
  return { stream, text: () => written };
}

export interface TestConsoleChat {
  chat: ConsoleChat;
  /** The stream the chat prints to. */
  output: Writable;
  /** Everything the chat has printed so far. */
  printed(): string;
}

/** Creates a ConsoleChat that prints into a string, with English labels, and shows U0DEMO as @演示用户. */
export function createTestConsoleChat(options: { fileDir: string; timezone: string }): TestConsoleChat {
  const sink = createStringSink();
  const chat = new ConsoleChat({
    output: sink.stream,
    fileDir: options.fileDir,
    timezone: options.timezone,
    labels: { ephemeral: '(ephemeral)', updated: '(updated)', file: '(file)' },
    userNames: { U0DEMO: '演示用户' },
  });
  return { chat, output: sink.stream, printed: sink.text };
}
