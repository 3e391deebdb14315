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
