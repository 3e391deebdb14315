import { describe, expect, it } from 'vitest';

import type { ParseContext } from '../../src/commands/context.js';
import { isParseError } from '../../src/commands/parse-error.js';
import { parsePlan } from '../../src/commands/plan-parse.js';
import { loadConfig } from '../../src/config/load.js';

const config = loadConfig('config/trainops.example.yaml');
// Wednesday 2 December 2026, 10:00 in Shanghai.
const ctx: ParseContext = { config, userId: 'U01LINA', channel: 'CPLAN', locale: 'zh-CN', now: new Date('2026-12-02T10:00:00+08:00') };
const iso = (local: string): string => new Date(local).toISOString();

describe('parsePlan', () => {
  it.each([
    ['', 0],
    ['this', 0],
    ['本周', 0],
    ['next', 1],
    ['下周', 1],
    ['last', -1],
    ['上周', -1],
  ] as const)('"%s" shows week offset %d', (text, weekOffset) => {
    expect(parsePlan(text, ctx)).toEqual({ action: 'show', weekOffset });
  });

  it('adds with a quoted title and every field', () => {
    const command = parsePlan('add "训练医疗 phi4" due 周四 owner <@U01CHENCHEN|chenchen> vm yanshiyiliao recipe medical-phi4', ctx);
    expect(command).toEqual({
      action: 'add',
      fields: {
        title: '训练医疗 phi4',
        due: { due: iso('2026-12-03T18:00:00+08:00'), text: '周四' },
        owner: 'U01CHENCHEN',
        vm: 'yanshiyiliao',
        recipe: 'medical-phi4',
      },
    });
  });

  it('adds with a range and an unquoted title', () => {
    const command = parsePlan('添加 处理数据集 截止 周四、五 负责人 @刘洋', ctx);
    expect(command).toEqual({
      action: 'add',
      fields: {
        title: '处理数据集',
        due: { due: iso('2026-12-04T18:00:00+08:00'), rangeStart: iso('2026-12-03T00:00:00+08:00'), text: '周四、五' },
        owner: 'U01LIUYANG',
      },
    });
  });

  it('adds with a number and owner me', () => {
    const command = parsePlan('add 2.4 “研究 ep 通讯” due 2026-12-08 18:00 owner me', ctx);
    expect(command).toMatchObject({ action: 'add', number: '2.4', fields: { title: '研究 ep 通讯', owner: 'U01LINA' } });
  });

  it('reads done, remove and edit', () => {
    expect(parsePlan('done 2.1', ctx)).toEqual({ action: 'done', number: '2.1' });
    expect(parsePlan('完成 3', ctx)).toEqual({ action: 'done', number: '3' });
    expect(parsePlan('remove 2.3', ctx)).toEqual({ action: 'remove', number: '2.3' });
    expect(parsePlan('edit 2.1 due 下周一 title "部署医疗 phi4"', ctx)).toEqual({
      action: 'edit',
      number: '2.1',
      fields: { due: { due: iso('2026-12-07T18:00:00+08:00'), text: '下周一' }, title: '部署医疗 phi4' },
    });
  });

  it('keeps the pasted lines of an import', () => {
    const command = parsePlan('import\n1、部署 Phi4 —— 周五完成\n2、训练 —— 周四', ctx);
    expect(command).toEqual({ action: 'import', text: '1、部署 Phi4 —— 周五完成\n2、训练 —— 周四' });
  });

  it.each([
    ['add "x" due 周一', 'plan.error.due_past_suggest', { text: '周一', suggestion: '下周一', readAs: '2026年11月30日 周一 18:00' }],
    ['add "x" due 周五 6点', 'plan.error.due_ambiguous', { text: '周五 6点' }],
    ['add "x" due 2月30日', 'plan.error.due_invalid', { text: '2月30日' }],
    ['add "x" due 随便', 'plan.error.due_unrecognized', { text: '随便' }],
    ['add "x"', 'plan.error.due_missing', {}],
    ['add due 周五', 'plan.error.title_missing', {}],
    ['add "x" due 周五 vm yanshiyiliau', 'core.error.unknown_vm', { name: 'yanshiyiliau', suggestion: 'yanshiyiliao' }],
    ['add "x" due 周五 recipe medical', 'plan.error.unknown_recipe', { name: 'medical' }],
    ['add "x" due 周五 owner @nobody', 'plan.error.owner_unknown', { value: '@nobody' }],
    ['add "x" due 周五 due 周六', 'plan.error.field_twice', { word: 'due' }],
    ['done', 'plan.error.number_missing', { action: 'done' }],
    ['done abc', 'plan.error.number_invalid', { value: 'abc' }],
    ['edit 2.1', 'plan.error.nothing_to_edit', {}],
    ['import', 'plan.error.import_empty', {}],
    ['frobnicate', 'plan.error.unknown_action', { word: 'frobnicate' }],
    ['next week', 'plan.error.usage', {}],
  ] as const)('"%s" is rejected', (text, key, params) => {
    const result = parsePlan(text, ctx);
    expect(isParseError(result) && result.key).toBe(key);
    expect(isParseError(result) && result.params).toMatchObject(params);
  });
});
