import type { Locale } from '../config/schema.js';
import type { PlanImport } from '../commands/plan-import.js';
import { formatDue, formatWeek, type WeekKey } from '../commands/plan-week.js';
import type { Block } from './chat-port.js';
import { actions, button, contextLine, limitBlocks, section } from './blocks.js';
import type { Translate } from './i18n.js';
import type { RenderedMessage } from './plan-view.js';

/** action_id of the import preview buttons; the value is the pending import's id. */
export const PLAN_ACTIONS = {
  importConfirm: 'trainops.plan.import.confirm',
  importCancel: 'trainops.plan.import.cancel',
} as const;

export interface ImportPreviewOptions {
  result: PlanImport;
  week: WeekKey;
  draftId: string;
  timeZone: string;
  locale: Locale;
  t: Translate;
}

/** Shows what the importer understood, the lines it could not read, and confirm / cancel buttons. */
export function renderImportPreview(options: ImportPreviewOptions): RenderedMessage {
  const { result, t } = options;
  const none = t('plan.none');
  const lines: string[] = [t('plan.import.title', { week: formatWeek(options.week, options.timeZone, options.locale) })];
  const blocks: Block[] = [section(lines[0]!)];

  for (const group of result.groups) {
    const line = t('plan.import.group', { number: group.number, title: group.title });
    lines.push(line);
    blocks.push(contextLine(line));
  }

  for (const item of result.items) {
    const line = t('plan.import.item', {
      number: item.number,
      title: item.title,
      due: formatDue(new Date(item.due), options.timeZone, options.locale),
      dueText: item.dueText,
      owner: item.owner ? `<@${item.owner}>` : none,
      vm: item.vm ?? none,
      recipe: item.recipe ?? none,
    });
    lines.push(line);
    blocks.push(section(line));
    const warnings = item.warnings.map((warning) => t(warning.key, warning.params));
    if (warnings.length > 0) blocks.push(contextLine(warnings.join('；')));
  }

  if (result.unread.length > 0) {
    const unread = result.unread.map((entry) =>
      t(`plan.import.reason.${entry.reason}`, { line: entry.line, text: entry.text, due: entry.due }),
    );
    lines.push(t('plan.import.unread_title'), ...unread);
    blocks.push(section(`${t('plan.import.unread_title')}\n${unread.map((line) => `> ${line}`).join('\n')}`));
  }

  if (result.items.length === 0) {
    lines.push(t('plan.import.no_items'));
    blocks.push(section(t('plan.import.no_items')));
    return { text: lines.join('\n'), blocks: limitBlocks(blocks) };
  }

  // The buttons go last and must survive the block limit.
  const buttons = actions([
    button(t('plan.import.confirm'), PLAN_ACTIONS.importConfirm, options.draftId, { style: 'primary' }),
    button(t('plan.import.cancel'), PLAN_ACTIONS.importCancel, options.draftId),
  ]);
  return { text: lines.join('\n'), blocks: [...limitBlocks(blocks).slice(0, 49), buttons] };
}

/** callback_id of the modal that `/plan import` without text opens. */
export const PLAN_IMPORT_MODAL = 'trainops.plan.import.modal';

/** Slack caps plain_text_input at 3000 characters. */
const MODAL_TEXT_LIMIT = 3000;

/** Tells whether a slash command asks for the import modal: `/plan import` with nothing pasted. */
export function isPlanImportModalRequest(command: string, text: string): boolean {
  return command === '/plan' && /^\s*(?:import|导入)\s*$/iu.test(text);
}

/** Builds the modal with one multi-line input for the weekly message; the channel rides in private_metadata. */
export function renderImportModal(t: Translate, channel: string): Record<string, unknown> {
  return {
    type: 'modal',
    callback_id: PLAN_IMPORT_MODAL,
    private_metadata: channel,
    title: { type: 'plain_text', text: t('plan.import.modal_title') },
    submit: { type: 'plain_text', text: t('plan.import.modal_submit') },
    close: { type: 'plain_text', text: t('plan.import.cancel') },
    blocks: [
      {
        type: 'input',
        block_id: 'message',
        label: { type: 'plain_text', text: t('plan.import.modal_label') },
        hint: { type: 'plain_text', text: t('plan.import.modal_hint') },
        element: { type: 'plain_text_input', action_id: 'text', multiline: true, max_length: MODAL_TEXT_LIMIT },
      },
    ],
  };
}

/** Reads the pasted text and the channel from a submitted import modal. */
export function readImportModal(view: { private_metadata?: string; state?: { values?: Record<string, Record<string, { value?: string | null }>> } }):
  | { text: string; channel: string }
  | undefined {
  const text = view.state?.values?.message?.text?.value ?? '';
  const channel = view.private_metadata ?? '';
  if (text.trim().length === 0 || channel.length === 0) return undefined;
  return { text, channel };
}
