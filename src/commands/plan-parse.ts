import type { ParseContext } from './context.js';
import { readMemberRef } from './member-ref.js';
import { parseError, type ParseError } from './parse-error.js';
import { parseDue, type DueReading } from './plan-dates.js';
import { formatDue } from './plan-week.js';
import { suggestName } from '../config/suggest.js';

/**
 * `/plan` grammar:
 *
 *   /plan [this | next | last | 本周 | 下周 | 上周]
 *   /plan add ["<title>" | <title>] due <when> [owner @user] [vm <vm>] [recipe <recipe>]
 *   /plan done <n>        /plan remove <n>
 *   /plan edit <n> [title "<title>"] [due <when>] [owner @user] [vm <vm>] [recipe <recipe>]
 *   /plan import <pasted weekly message>
 *
 * Keywords have Chinese forms (添加 完成 修改 删除 导入, 截止 负责人 配方 标题). The due
 * phrase is read here, against the request's time, so a past or ambiguous date comes
 * back as a parse error that shows how it was read. The text is split on keywords
 * rather than with the shared tokenizer, because that tokenizer splits on `、` and
 * would cut `周二、三` apart.
 */
export type PlanCommand =
  | { action: 'show'; weekOffset: -1 | 0 | 1 }
  | { action: 'add'; number?: string; fields: PlanFields & { title: string; due: ReadDue } }
  | { action: 'edit'; number: string; fields: PlanFields }
  | { action: 'done'; number: string }
  | { action: 'remove'; number: string }
  | { action: 'import'; text: string };

export interface ReadDue {
  /** ISO 8601 UTC. */
  due: string;
  rangeStart?: string;
  /** The phrase as typed. */
  text: string;
}

export interface PlanFields {
  title?: string;
  due?: ReadDue;
  owner?: string;
  vm?: string;
  recipe?: string;
}

const ACTIONS: Readonly<Record<string, PlanCommand['action'] | 'next' | 'last' | 'this'>> = {
  add: 'add', 添加: 'add', 新增: 'add',
  done: 'done', 完成: 'done',
  edit: 'edit', 修改: 'edit', 编辑: 'edit',
  remove: 'remove', rm: 'remove', delete: 'remove', 删除: 'remove',
  import: 'import', 导入: 'import',
  next: 'next', 下周: 'next',
  last: 'last', 上周: 'last',
  this: 'this', 本周: 'this', 这周: 'this',
};

const WEEK_OFFSETS = { this: 0, next: 1, last: -1 } as const;

const FIELD_WORDS: Readonly<Record<string, keyof PlanFields>> = {
  title: 'title', 标题: 'title',
  due: 'due', 截止: 'due', 截止时间: 'due',
  owner: 'owner', 负责人: 'owner',
  vm: 'vm',
  recipe: 'recipe', 配方: 'recipe',
};

const NUMBER = /^\d{1,2}(?:\.\d{1,2}){0,2}$/;
const FIELD_SPLIT = new RegExp(`(?:^|\\s)(${Object.keys(FIELD_WORDS).join('|')})(?=\\s|$)`, 'giu');
const QUOTED = /^(?:"([^"]*)"|“([^”]*)”|'([^']*)'|「([^」]*)」)/u;

export function parsePlan(text: string, ctx: ParseContext): PlanCommand | ParseError {
  const trimmed = text.trim();
  if (trimmed.length === 0) return { action: 'show', weekOffset: 0 };

  const [first = '', ...restWords] = trimmed.split(/\s+/u);
  const action = ACTIONS[first.toLowerCase()];
  const rest = trimmed.slice(first.length).trim();

  switch (action) {
    case 'this':
    case 'next':
    case 'last':
      if (restWords.length > 0) return parseError('plan.error.usage');
      return { action: 'show', weekOffset: WEEK_OFFSETS[action] };
    case 'done':
    case 'remove':
      return parseNumberOnly(action, rest);
    case 'import':
      // The pasted message keeps its line breaks; only the command word is removed.
      if (rest.length === 0) return parseError('plan.error.import_empty');
      return { action: 'import', text: text.trim().slice(first.length).replace(/^[ \t]*\n?/u, '') };
    case 'add':
      return parseAdd(rest, ctx);
    case 'edit':
      return parseEdit(rest, ctx);
    default:
      return parseError('plan.error.unknown_action', { word: first });
  }
}

function parseNumberOnly(action: 'done' | 'remove', rest: string): PlanCommand | ParseError {
  const number = rest.replace(/^#/, '');
  if (number.length === 0) return parseError('plan.error.number_missing', { action });
  if (!NUMBER.test(number)) return parseError('plan.error.number_invalid', { value: number });
  return { action, number };
}

function parseAdd(rest: string, ctx: ParseContext): PlanCommand | ParseError {
  let remaining = rest;
  let number: string | undefined;
  const leading = /^(\d{1,2}(?:\.\d{1,2}){0,2})\s+/u.exec(remaining);
  if (leading) {
    number = leading[1];
    remaining = remaining.slice(leading[0].length);
  }

  // The title is quoted, or everything before the first keyword.
  let title: string;
  const quoted = QUOTED.exec(remaining);
  if (quoted) {
    title = (quoted[1] ?? quoted[2] ?? quoted[3] ?? quoted[4] ?? '').trim();
    remaining = remaining.slice(quoted[0].length);
  } else {
    FIELD_SPLIT.lastIndex = 0;
    const keyword = FIELD_SPLIT.exec(` ${remaining}`);
    const end = keyword ? Math.max(0, keyword.index) : remaining.length;
    title = remaining.slice(0, end).trim();
    remaining = remaining.slice(end);
  }
  if (title.length === 0) return parseError('plan.error.title_missing');

  const fields = parseFields(remaining, ctx);
  if ('type' in fields) return fields;
  if (fields.title !== undefined) return parseError('plan.error.title_twice');
  if (!fields.due) return parseError('plan.error.due_missing');
  return { action: 'add', ...(number ? { number } : {}), fields: { ...fields, title, due: fields.due } };
}

function parseEdit(rest: string, ctx: ParseContext): PlanCommand | ParseError {
  const [number = '', ...others] = rest.split(/\s+/u);
  if (number.length === 0) return parseError('plan.error.number_missing', { action: 'edit' });
  if (!NUMBER.test(number)) return parseError('plan.error.number_invalid', { value: number });

  const fields = parseFields(others.join(' '), ctx);
  if ('type' in fields) return fields;
  if (Object.keys(fields).length === 0) return parseError('plan.error.nothing_to_edit');
  return { action: 'edit', number, fields };
}

function parseFields(text: string, ctx: ParseContext): PlanFields | ParseError {
  const fields: PlanFields = {};
  const parts = ` ${text}`.split(FIELD_SPLIT);
  if (parts[0]!.trim().length > 0) return parseError('plan.error.unexpected', { text: parts[0]!.trim() });

  for (let index = 1; index < parts.length; index += 2) {
    const name = FIELD_WORDS[parts[index]!.toLowerCase()]!;
    const value = unquote(parts[index + 1]!.trim());
    if (value.length === 0) return parseError('plan.error.value_missing', { word: parts[index]! });
    if (fields[name] !== undefined) return parseError('plan.error.field_twice', { word: parts[index]! });

    const error = readField(fields, name, value, ctx);
    if (error) return error;
  }
  return fields;
}

function readField(fields: PlanFields, name: keyof PlanFields, value: string, ctx: ParseContext): ParseError | undefined {
  switch (name) {
    case 'title':
      fields.title = value;
      return undefined;
    case 'due': {
      const reading = parseDue(value, { now: ctx.now, timeZone: ctx.config.timezone, dueHour: ctx.config.plan.dueHour });
      if (!reading.ok) return dueError(reading, ctx);
      fields.due = { due: reading.due.toISOString(), text: value, ...(reading.rangeStart ? { rangeStart: reading.rangeStart.toISOString() } : {}) };
      return undefined;
    }
    case 'owner': {
      const owner = readOwner(value, ctx);
      if (!owner) return parseError('plan.error.owner_unknown', { value, valid: ctx.config.team.members.map((member) => member.name).join(', ') });
      fields.owner = owner;
      return undefined;
    }
    case 'vm':
      return readName(fields, 'vm', value.toLowerCase(), Object.keys(ctx.config.vms), 'core.error.unknown_vm');
    case 'recipe':
      return readName(fields, 'recipe', value.toLowerCase(), Object.keys(ctx.config.recipes), 'plan.error.unknown_recipe');
  }
}

/** Builds the error that shows how a due phrase was read, in the person's locale and zone. */
export function dueError(reading: Extract<DueReading, { ok: false }>, ctx: Pick<ParseContext, 'config' | 'locale'>): ParseError {
  const readAs = reading.readAs ? formatDue(reading.readAs, ctx.config.timezone, ctx.locale, true) : '';
  switch (reading.reason) {
    case 'past':
      return reading.suggestion
        ? parseError('plan.error.due_past_suggest', { text: reading.text, readAs, suggestion: reading.suggestion })
        : parseError('plan.error.due_past', { text: reading.text, readAs });
    case 'ambiguous':
      return parseError('plan.error.due_ambiguous', { text: reading.text, readAs });
    case 'invalid_date':
      return parseError('plan.error.due_invalid', { text: reading.text });
    default:
      return parseError('plan.error.due_unrecognized', { text: reading.text });
  }
}

function readOwner(value: string, ctx: ParseContext): string | undefined {
  const id = readMemberRef(value, ctx.config, ctx.userId);
  return id !== undefined && ctx.config.team.members.some((member) => member.id === id) ? id : undefined;
}

function readName(
  fields: PlanFields,
  name: 'vm' | 'recipe',
  value: string,
  valid: readonly string[],
  errorKey: string,
): ParseError | undefined {
  if (valid.includes(value)) {
    fields[name] = value;
    return undefined;
  }
  return parseError(errorKey, { name: value, kind: '', valid: valid.join(', ') || '—', suggestion: suggestName(value, valid) ?? '' });
}

function unquote(value: string): string {
  const quoted = QUOTED.exec(value);
  return quoted && quoted[0].length === value.length ? (quoted[1] ?? quoted[2] ?? quoted[3] ?? quoted[4] ?? '').trim() : value;
}
