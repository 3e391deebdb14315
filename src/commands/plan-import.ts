import type { Member, Recipe } from '../config/schema.js';
import { parseDue } from './plan-dates.js';
import { matchRecipe, matchVm } from './plan-match.js';
import { inferKind, type PlanItemDraft } from './plan-types.js';

/**
 * Reads the weekly plan message the team pastes into `/plan import`:
 *
 *   1、部署 Phi4 —— microsoft/Phi-4-multimodal-instruct，周一内完成，在 Azure 上 VM 主机 guanzongphi4
 *   2、模型训练
 *     2.1 训练并部署医疗 phi4 —— VM yanshiyiliao，周一完成
 *   2.2 和 2.3 我做
 *
 * Numbered lines become items; a numbered line without a due phrase whose number
 * prefixes later numbers (`2` before `2.1`) is a group heading. Lines such as
 * `2.2 和 2.3 我做` assign owners ("我" is the person importing). Every other line is
 * returned in `unread`, never dropped. Due phrases are read in the week of `now`, and
 * days already past in that week are accepted: the plan is written on Monday and its
 * `周一` items are due that evening.
 */
export interface ImportContext {
  now: Date;
  timeZone: string;
  dueHour: number;
  /** Slack user id of the person importing: "我" in the message. */
  author: string;
  vmNames: readonly string[];
  recipes: Readonly<Record<string, Recipe>>;
  members: readonly Member[];
}

export interface ImportWarning {
  /** Message catalog key, such as `plan.import.vm_corrected`. */
  key: string;
  params: Record<string, string>;
}

export interface ImportedItem extends PlanItemDraft {
  /** 1-based line in the pasted text. */
  line: number;
  warnings: ImportWarning[];
}

export interface UnreadLine {
  line: number;
  text: string;
  reason: 'not_an_item' | 'no_due' | 'bad_due' | 'duplicate_number' | 'unknown_number';
  /** The due phrase as typed, for `bad_due`. */
  due?: string;
}

export interface PlanImport {
  items: ImportedItem[];
  groups: Array<{ number: string; title: string; line: number }>;
  /** Owner assignments read from lines such as `2.2 和 2.3 我做`. */
  assignments: Array<{ numbers: string[]; owner: string; line: number }>;
  unread: UnreadLine[];
}

const NUMBERED = /^\s*(\d{1,2}(?:\.\d{1,2}){0,2})\s*(?:[、.．)）:：]\s*|\s+)(.+)$/u;
const NUMBER_LIST = String.raw`\d{1,2}(?:\.\d{1,2}){0,2}(?:\s*(?:和|与|跟|及|、|,|，|&|and)\s*\d{1,2}(?:\.\d{1,2}){0,2})*`;
const ASSIGNMENT = new RegExp(
  String.raw`^\s*(${NUMBER_LIST})\s*(?:都|就)?\s*(?:由|给|交给)?\s*(我|<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|@(\S+?))\s*(?:来)?\s*(?:做|负责|跟进|搞|处理|完成)`,
  'u',
);
const SEGMENT_SPLIT = /(\s+-\s+|\s*(?:——|--|—|，|,|；|;|。)\s*)/u;
/** `VM yanshi`, `on VM yanshi`, `在 VM 主机 yanshi` inside a longer segment. */
const INLINE_VM = /\s*(?:\bon\s+|在\s*|于\s*)?(?:\bvm\b|虚拟机|主机)\s*(?:主机\s*)?([a-z0-9][a-z0-9._-]*)/iu;
const MENTION = /<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|@(\S+)/u;

interface NumberedLine {
  line: number;
  number: string;
  body: string;
  text: string;
}

export function parsePlanMessage(text: string, context: ImportContext): PlanImport {
  const result: PlanImport = { items: [], groups: [], assignments: [], unread: [] };
  const numbered: NumberedLine[] = [];

  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const trimmed = raw.replace(/^[>\s]+/u, '').trim();
    if (trimmed.length === 0) continue;

    const assignment = readAssignment(trimmed, context);
    if (assignment) {
      result.assignments.push({ ...assignment.assignment, line });
      if (assignment.rest.length > 0) result.unread.push({ line, text: trimmed, reason: 'not_an_item' });
      continue;
    }

    const match = NUMBERED.exec(trimmed);
    if (match) numbered.push({ line, number: match[1]!, body: match[2]!.trim(), text: trimmed });
    else result.unread.push({ line, text: trimmed, reason: 'not_an_item' });
  }

  const seen = new Set<string>();
  for (const entry of numbered) {
    const isParent = numbered.some((other) => other.number.startsWith(`${entry.number}.`));
    const item = readItem(entry, context);

    if (seen.has(entry.number)) {
      result.unread.push({ line: entry.line, text: entry.text, reason: 'duplicate_number' });
      continue;
    }
    if (item.kind === 'no_due' && isParent) {
      result.groups.push({ number: entry.number, title: entry.body, line: entry.line });
      continue;
    }
    if (item.kind !== 'item') {
      const unread: UnreadLine = { line: entry.line, text: entry.text, reason: item.kind };
      if (item.kind === 'bad_due') unread.due = item.due;
      result.unread.push(unread);
      continue;
    }
    seen.add(entry.number);
    result.items.push(item.item);
  }

  applyAssignments(result);
  result.unread.sort((a, b) => a.line - b.line);
  return result;
}

function readAssignment(
  text: string,
  context: ImportContext,
): { assignment: { numbers: string[]; owner: string }; rest: string } | undefined {
  const match = ASSIGNMENT.exec(text);
  if (!match) return undefined;

  const owner = match[2] === '我' ? context.author : (match[3] ?? findMember(match[4] ?? '', context.members));
  if (!owner) return undefined;

  const numbers = match[1]!.split(/\s*(?:和|与|跟|及|、|,|，|&|and)\s*/u).filter((number) => number.length > 0);
  const rest = text.slice(match[0].length).replace(/^[\s，,。;；]+/u, '');
  return { assignment: { numbers, owner }, rest };
}

function applyAssignments(result: PlanImport): void {
  for (const assignment of result.assignments) {
    for (const number of assignment.numbers) {
      const item = result.items.find((candidate) => candidate.number === number);
      if (item) item.owner = assignment.owner;
      else result.unread.push({ line: assignment.line, text: number, reason: 'unknown_number' });
    }
  }
}

type ItemReading =
  | { kind: 'item'; item: ImportedItem }
  | { kind: 'no_due' }
  | { kind: 'bad_due'; due: string };

function readItem(entry: NumberedLine, context: ImportContext): ItemReading {
  const parts = entry.body.split(SEGMENT_SPLIT);
  const segments: Array<{ text: string; separator: string }> = [];
  for (let index = 0; index < parts.length; index += 2) {
    const segmentText = parts[index]!.trim();
    if (segmentText.length > 0) segments.push({ text: segmentText, separator: (parts[index - 1] ?? '').trim() });
  }

  const warnings: ImportWarning[] = [];
  const titleSegments: Array<{ text: string; separator: string }> = [];
  let due: { due: Date; rangeStart?: Date; text: string } | undefined;
  let badDue: string | undefined;
  let vm: string | undefined;
  let owner: string | undefined;

  for (const segment of segments) {
    // An owner mention can sit in any segment (`礼拜五 @刘洋`, `<@U01CHENCHEN> 负责`).
    const mention = owner ? null : MENTION.exec(segment.text);
    const mentioned = mention ? (mention[1] ?? findMember(mention[2] ?? '', context.members)) : undefined;
    if (mention && mentioned) {
      owner = mentioned;
      segment.text = segment.text.replace(mention[0], ' ').replace(/负责|来做/gu, '').replace(/\s+/g, ' ').trim();
      if (segment.text.length === 0) continue;
    }

    const reading = parseDue(segment.text, {
      now: context.now,
      timeZone: context.timeZone,
      dueHour: context.dueHour,
      allowPast: true,
    });
    if (reading.ok && !due) {
      due = { due: reading.due, rangeStart: reading.rangeStart, text: segment.text };
      continue;
    }
    if (!reading.ok && reading.reason !== 'unrecognized' && !badDue) {
      badDue = segment.text;
      continue;
    }
    if (!reading.ok && looksLikeDue(segment.text) && !badDue) {
      badDue = segment.text;
      continue;
    }

    const vmMatch = /\bvm\b|主机|机器|虚拟机/i.test(segment.text) || titleSegments.length > 0 ? matchVm(segment.text, context.vmNames) : undefined;
    if (vmMatch && !vm && isVmSegment(segment.text, vmMatch.typed ?? vmMatch.vm)) {
      vm = vmMatch.vm;
      if (vmMatch.typed) warnings.push({ key: 'plan.import.vm_corrected', params: { typed: vmMatch.typed, vm: vmMatch.vm } });
      continue;
    }

    const inline = vm ? undefined : INLINE_VM.exec(segment.text);
    const inlineVm = inline ? matchVm(inline[1]!, context.vmNames) : undefined;
    if (inline && inlineVm) {
      vm = inlineVm.vm;
      if (inlineVm.typed) warnings.push({ key: 'plan.import.vm_corrected', params: { typed: inlineVm.typed, vm: inlineVm.vm } });
      segment.text = segment.text.replace(inline[0], ' ').replace(/\s+/g, ' ').trim();
      if (segment.text.length === 0) continue;
    }

    titleSegments.push(segment);
  }

  if (!due) return badDue ? { kind: 'bad_due', due: badDue } : { kind: 'no_due' };

  const title = titleSegments
    .map((segment, index) => (index === 0 ? segment.text : `${joiner(segment.separator)}${segment.text}`))
    .join('');
  const kind = inferKind(title);
  const recipe = matchRecipe(title, kind, context.recipes, vm);

  const item: ImportedItem = {
    line: entry.line,
    number: entry.number,
    title: title.length > 0 ? title : entry.body,
    due: due.due.toISOString(),
    dueText: due.text,
    kind,
    warnings,
  };
  if (due.rangeStart) item.rangeStart = due.rangeStart.toISOString();
  if (vm) item.vm = vm;
  if (owner) item.owner = owner;
  if (recipe) item.recipe = recipe;
  return { kind: 'item', item };
}

/** Tells whether a segment names a VM and little else: `VM yanshiyiliao`, `在 Azure 上 VM 主机 guanzongphi4`. */
function isVmSegment(text: string, vmWord: string): boolean {
  const rest = text
    .toLowerCase()
    .replace(vmWord, '')
    .replace(/\bvm\b|azure|主机|机器|虚拟机|在|上|用|的/giu, '')
    .trim();
  return rest.length <= 4;
}

/** Tells whether text looks like a due phrase that could not be read, such as `周八完成`. */
function looksLikeDue(text: string): boolean {
  return /(?:周|星期|礼拜)\S|完成$|截止|\bdue\b/u.test(text);
}

function joiner(separator: string): string {
  if (/^[—-]+$/.test(separator)) return ' —— ';
  if (separator === '') return ' ';
  return '，';
}

function findMember(name: string, members: readonly Member[]): string | undefined {
  const wanted = name.trim().toLowerCase();
  return members.find((member) => member.name.toLowerCase() === wanted || member.id.toLowerCase() === wanted)?.id;
}
