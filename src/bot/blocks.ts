import type { Block } from './chat-port.js';

/**
 * Small Block Kit builders that keep text within Slack's limits: 3000 characters in a
 * section, 75 in a button label, 2000 in a button value, 50 blocks in a message.
 */
export const SECTION_TEXT_LIMIT = 3000;
export const BUTTON_TEXT_LIMIT = 75;
export const MAX_BLOCKS = 50;
/** Slack truncates `text` of a message after 40,000 characters; stay well below. */
export const MESSAGE_TEXT_LIMIT = 39_000;

/** action_id of the buttons in a run's thread; the value is the run id. */
export const RUN_ACTIONS = {
  cancel: 'run_cancel',
  restart: 'run_restart',
  logs: 'run_logs',
} as const;

export function truncateText(text: string, limit: number): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit - 1)}…`;
}

export function section(markdown: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: truncateText(markdown, SECTION_TEXT_LIMIT) } };
}

export function header(plain: string): Block {
  return { type: 'header', text: { type: 'plain_text', text: truncateText(plain, 150), emoji: true } };
}

export function contextLine(markdown: string): Block {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncateText(markdown, SECTION_TEXT_LIMIT) }] };
}

export function divider(): Block {
  return { type: 'divider' };
}

export interface ButtonOptions {
  style?: 'primary' | 'danger';
  /** Confirmation dialog texts, for destructive actions. */
  confirm?: { title: string; text: string; confirm: string; deny: string };
}

export function button(text: string, actionId: string, value: string, options: ButtonOptions = {}): Record<string, unknown> {
  return {
    type: 'button',
    text: { type: 'plain_text', text: truncateText(text, BUTTON_TEXT_LIMIT), emoji: true },
    action_id: actionId,
    value: truncateText(value, 2000),
    ...(options.style ? { style: options.style } : {}),
    ...(options.confirm
      ? {
          confirm: {
            title: { type: 'plain_text', text: truncateText(options.confirm.title, 100) },
            text: { type: 'mrkdwn', text: truncateText(options.confirm.text, 300) },
            confirm: { type: 'plain_text', text: truncateText(options.confirm.confirm, 30) },
            deny: { type: 'plain_text', text: truncateText(options.confirm.deny, 30) },
          },
        }
      : {}),
  };
}

export function actions(elements: Record<string, unknown>[], blockId?: string): Block {
  return { type: 'actions', elements: elements.slice(0, 25), ...(blockId ? { block_id: blockId } : {}) };
}

/** Keeps the first MAX_BLOCKS blocks; Slack rejects a message with more. */
export function limitBlocks(blocks: Block[]): Block[] {
  return blocks.slice(0, MAX_BLOCKS);
}

/** Wraps text in a code block, escaping the fence so log text cannot end it early. */
export function codeBlock(text: string): string {
  return `\`\`\`\n${text.replace(/```/g, '`\u200b``')}\n\`\`\``;
}
