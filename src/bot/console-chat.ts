import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { tz } from '@date-fns/tz';
import { format } from 'date-fns';

import type { Block, ChatPort, OutgoingMessage, PostedMessage } from './chat-port.js';

/**
 * `ChatPort` that plays Slack in a terminal for the demo. Channel messages print flush
 * left and thread replies indented under their root. An update prints the lines that
 * changed as it happens, ephemeral replies carry a label, and uploaded files are
 * written to `fileDir` with their path printed.
 */
export interface ConsoleChatOptions {
  output: NodeJS.WritableStream;
  /** Folder for uploaded files (loss charts, long logs). */
  fileDir: string;
  timezone: string;
  /** Labels in the person's language. */
  labels: { ephemeral: string; updated: string; file: string };
  /** Display names by Slack user id, shown in place of `<@U…>` mentions. */
  userNames?: Readonly<Record<string, string>>;
}

const INDENT = '    ';

/** A button the console printed as `[label]`, which typing `[label]` clicks. */
export interface ConsoleButton {
  actionId: string;
  value: string;
  channel: string;
  /** The message that contains the button; undefined for an ephemeral reply. */
  messageTs?: string;
  threadTs?: string;
}

export class ConsoleChat implements ChatPort {
  private counter = 0;
  /** Thread of each posted message (undefined for channel messages), for indenting updates. */
  private readonly threadOf = new Map<string, string | undefined>();
  /** Latest rendered text of each message, so an update prints only the lines that changed. */
  private readonly rendered = new Map<string, string>();
  /** The most recently printed button with each label. */
  private readonly buttons = new Map<string, ConsoleButton>();

  constructor(private readonly options: ConsoleChatOptions) {}

  async postMessage(message: OutgoingMessage): Promise<PostedMessage> {
    const ts = this.nextTs();
    const text = this.render(message.text, message.blocks);
    this.threadOf.set(ts, message.threadTs);
    this.rendered.set(ts, text);
    this.rememberButtons(message.blocks, { channel: message.channel, messageTs: ts, threadTs: message.threadTs });
    this.print(text, message.threadTs !== undefined);
    return { channel: message.channel, ts };
  }

  async updateMessage(target: PostedMessage, message: { text: string; blocks?: Block[] }): Promise<void> {
    const threadTs = this.threadOf.get(target.ts);
    const inThread = threadTs !== undefined;
    const text = this.render(message.text, message.blocks);
    this.rememberButtons(message.blocks, { channel: target.channel, messageTs: target.ts, threadTs });
    const before = new Set((this.rendered.get(target.ts) ?? '').split('\n'));
    this.rendered.set(target.ts, text);

    const lines = text.split('\n');
    const changed = lines.filter((line, index) => index > 0 && !before.has(line));
    if (changed.length === 0 && before.has(lines[0] ?? '')) return;
    this.print(`${this.options.labels.updated} ${[lines[0], ...changed].join('\n')}`, inThread);
  }

  async postEphemeral(message: OutgoingMessage & { user: string }): Promise<void> {
    this.rememberButtons(message.blocks, { channel: message.channel, threadTs: message.threadTs });
    this.print(`${this.options.labels.ephemeral} ${this.render(message.text, message.blocks)}`, message.threadTs !== undefined);
  }

  async uploadFile(upload: { channel: string; threadTs?: string; filename: string; title: string; content: Buffer }): Promise<void> {
    await mkdir(this.options.fileDir, { recursive: true });
    const target = path.join(this.options.fileDir, `${this.nextTs()}-${path.basename(upload.filename)}`);
    await writeFile(target, upload.content);
    this.print(`${this.options.labels.file} ${upload.title}: ${target}`, upload.threadTs !== undefined);
  }

  async publishHome(): Promise<void> {
    // The console has no App Home tab.
  }

  /** Returns the most recently printed button with this label, which the console clicks. */
  findButton(label: string): ConsoleButton | undefined {
    return this.buttons.get(label);
  }

  /** Prints a line that is not a Slack message (banner, prompt hints). */
  note(text: string): void {
    this.options.output.write(`${text}\n`);
  }

  private rememberButtons(blocks: readonly Block[] | undefined, where: { channel: string; messageTs?: string; threadTs?: string }): void {
    for (const block of blocks ?? []) {
      if (block.type !== 'actions') continue;
      for (const element of (block.elements as Array<{ type?: string; action_id?: string; value?: string; text?: { text?: string } }> | undefined) ?? []) {
        const label = element.text?.text;
        if (element.type !== 'button' || !label || !element.action_id) continue;
        this.buttons.set(label, {
          actionId: element.action_id,
          value: element.value ?? '',
          channel: where.channel,
          ...(where.messageTs ? { messageTs: where.messageTs } : {}),
          ...(where.threadTs ? { threadTs: where.threadTs } : {}),
        });
      }
    }
  }

  private render(text: string, blocks: readonly Block[] | undefined): string {
    const names = this.options.userNames ?? {};
    return renderMessage(text, blocks, names).replace(/@([UW][A-Z0-9]+)/g, (whole, id: string) => (names[id] ? `@${names[id]}` : whole));
  }

  private print(text: string, inThread: boolean): void {
    const time = format(new Date(), 'HH:mm:ss', { in: tz(this.options.timezone) });
    const prefix = inThread ? `${INDENT}↳ ` : '';
    const continuation = inThread ? `${INDENT}  ` : '  ';
    const lines = text.split('\n');
    const body = [`${prefix}[${time}] ${lines[0] ?? ''}`, ...lines.slice(1).map((line) => `${continuation}${line}`)];
    this.options.output.write(`${body.join('\n')}\n`);
  }

  private nextTs(): string {
    this.counter += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.counter).padStart(6, '0')}`;
  }
}

/**
 * Renders Block Kit to plain text: section and header text, context lines, buttons as
 * [label], tables as aligned rows. A message with a block type not listed here prints
 * its `text` fallback instead, so nothing it carries is lost. Table cells that mention a
 * user show `@name` from `userNames`, so columns are measured on the text as displayed.
 */
export function renderMessage(text: string, blocks: readonly Block[] | undefined, userNames: Readonly<Record<string, string>> = {}): string {
  if (!blocks || blocks.length === 0) return stripMarkdown(text);
  const lines: string[] = [];
  for (const block of blocks) {
    const textObject = block.text as { text?: string } | undefined;
    switch (block.type) {
      case 'header':
      case 'section':
        if (textObject?.text) lines.push(stripMarkdown(textObject.text));
        for (const field of (block.fields as Array<{ text?: string }> | undefined) ?? []) {
          if (field.text) lines.push(stripMarkdown(field.text));
        }
        break;
      case 'context':
        lines.push(
          ((block.elements as Array<{ text?: string }> | undefined) ?? [])
            .map((element) => stripMarkdown(element.text ?? ''))
            .filter(Boolean)
            .join(' · '),
        );
        break;
      case 'actions':
        lines.push(
          ((block.elements as Array<{ text?: { text?: string } }> | undefined) ?? []).map((element) => `[${element.text?.text ?? '?'}]`).join(' '),
        );
        break;
      case 'image':
        lines.push(`(${String(block.alt_text ?? 'image')})`);
        break;
      case 'table':
        lines.push(...renderTable((block.rows as TableCell[][] | undefined) ?? [], userNames));
        break;
      case 'divider':
        break;
      default:
        return stripMarkdown(text);
    }
  }
  return lines.filter((line) => line.length > 0).join('\n') || stripMarkdown(text);
}

/** A Block Kit table cell: `raw_text`, or `rich_text` holding text and user elements. */
interface TableCell {
  type: string;
  text?: string;
  elements?: TableCell[];
  user_id?: string;
}

/** Renders table rows as lines whose columns line up in a monospace terminal. */
function renderTable(rows: readonly TableCell[][], userNames: Readonly<Record<string, string>>): string[] {
  const cells = rows.map((row) => row.map((cell) => cellText(cell, userNames).replace(/\s*\n\s*/g, ' ')));
  const widths: number[] = [];
  for (const row of cells) {
    row.forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? 0, displayWidth(cell));
    });
  }
  return cells.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell + ' '.repeat((widths[column] ?? 0) - displayWidth(cell))))
      .join('  ')
      .trimEnd(),
  );
}

function cellText(cell: TableCell, userNames: Readonly<Record<string, string>>): string {
  if (cell.type === 'user' && cell.user_id) return `@${userNames[cell.user_id] ?? cell.user_id}`;
  if (cell.elements) return cell.elements.map((element) => cellText(element, userNames)).join('');
  return stripMarkdown(cell.text ?? '');
}

/** Zero-width code points: combining marks, format characters (ZWJ), variation selectors. */
const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Cf}\u{FE00}-\u{FE0F}]/u;
/** Emoji shown as pictures, which terminals draw two columns wide. */
const WIDE_EMOJI = /\p{Emoji_Presentation}/u;

/**
 * Counts terminal columns following Unicode East Asian Width (UAX #11): wide and
 * fullwidth characters (CJK ideographs and punctuation, kana, Hangul, fullwidth forms)
 * and emoji take two, combining marks and format characters none, the rest one.
 * Written here because no width package (string-width, get-east-asian-width) is
 * installed. The ranges cover whole CJK, kana, Hangul and fullwidth blocks rather than
 * every W or F code point of EastAsianWidth.txt, so a rare wide symbol elsewhere counts
 * as one column.
 */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) {
    if (ZERO_WIDTH.test(char)) continue;
    width += isWide(char.codePointAt(0)!) || WIDE_EMOJI.test(char) ? 2 : 1;
  }
  return width;
}

function isWide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) || // Hangul Jamo initial consonants
    (code >= 0x2e80 && code <= 0x303e) || // CJK radicals, Kangxi, CJK symbols and punctuation
    (code >= 0x3041 && code <= 0x33ff) || // kana, Bopomofo, Hangul compatibility Jamo, CJK compatibility
    (code >= 0x3400 && code <= 0x4dbf) || // CJK extension A
    (code >= 0x4e00 && code <= 0x9fff) || // CJK unified ideographs
    (code >= 0xa000 && code <= 0xa4cf) || // Yi
    (code >= 0xa960 && code <= 0xa97f) || // Hangul Jamo extended A
    (code >= 0xac00 && code <= 0xd7a3) || // Hangul syllables
    (code >= 0xf900 && code <= 0xfaff) || // CJK compatibility ideographs
    (code >= 0xfe10 && code <= 0xfe19) || // vertical forms
    (code >= 0xfe30 && code <= 0xfe6f) || // CJK compatibility forms, small form variants
    (code >= 0xff00 && code <= 0xff60) || // fullwidth forms
    (code >= 0xffe0 && code <= 0xffe6) || // fullwidth signs
    (code >= 0x1b000 && code <= 0x1b2ff) || // kana supplement and extensions
    (code >= 0x20000 && code <= 0x3fffd) // CJK extensions B and later
  );
}

function stripMarkdown(text: string): string {
  return text
    .replace(/```\n?/g, '')
    .replace(/\*([^*\n]+)\*/g, '$1')
    .replace(/<@([A-Z0-9]+)>/g, '@$1')
    .replace(/<([^|>]+)\|([^>]+)>/g, '$2');
}
