import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { parsePlanMessage, type ImportContext } from '../../src/commands/plan-import.js';
import { loadConfig } from '../../src/config/load.js';

const config = loadConfig('config/trainops.example.yaml');
const weeklyMessage = readFileSync(new URL('../fixtures/weekly-plan.txt', import.meta.url), 'utf8');

const context: ImportContext = {
  // Monday morning in Shanghai, when the team writes its plan.
  now: new Date('2026-11-30T09:10:00+08:00'),
  timeZone: 'Asia/Shanghai',
  dueHour: 18,
  author: 'U01LINA',
  vmNames: Object.keys(config.vms),
  recipes: config.recipes,
  members: config.team.members,
};

const at = (local: string): string => new Date(local).toISOString();

describe('parsePlanMessage on the weekly message', () => {
  const result = parsePlanMessage(weeklyMessage, context);

  it('reads the five items', () => {
    const rows = result.items.map((item) => [item.number, item.vm, item.recipe, item.kind, item.due, item.owner]);
    expect(rows).toEqual([
      ['1', 'guanzongphi4', 'phi4-multimodal', 'deploy', at('2026-11-30T18:00:00+08:00'), undefined],
      ['2.1', 'yanshiyiliao', 'medical-phi4', 'train_deploy', at('2026-11-30T18:00:00+08:00'), undefined],
      ['2.2', 'yanshi', 'sft-rl-phi4', 'train_deploy', at('2026-11-30T18:00:00+08:00'), 'U01LINA'],
      ['2.3', undefined, 'phi35moe-medical', 'train', at('2026-12-02T18:00:00+08:00'), 'U01LINA'],
      ['3', undefined, 'medical-data', 'dataset', at('2026-12-03T18:00:00+08:00'), undefined],
    ]);
  });

  it('keeps titles without due and VM', () => {
    expect(result.items.map((item) => item.title)).toEqual([
      '部署 Phi4 —— microsoft/Phi-4-multimodal-instruct',
      '训练并部署医疗 phi4',
      '训练并部署 sft+rl 训练的 PHI4',
      '完成训练 phi3.5 moe + 医疗',
      '处理数据集，两个方向，3k-10k 条左右',
    ]);
  });

  it('keeps due phrases as written', () => {
    expect(result.items.map((item) => item.dueText)).toEqual(['周一内完成', '周一完成', '周一完成', '周二、三完成', '周三、四完成']);
  });

  it('ranges start on their first day', () => {
    expect(result.items[3]?.rangeStart).toBe(at('2026-12-01T00:00:00+08:00'));
    expect(result.items[4]?.rangeStart).toBe(at('2026-12-02T00:00:00+08:00'));
  });

  it('reads the heading as a group', () => {
    expect(result.groups).toEqual([{ number: '2', title: '模型训练', line: 5 }]);
  });

  it('assigns 2.2 and 2.3 to the author', () => {
    expect(result.assignments).toEqual([{ numbers: ['2.2', '2.3'], owner: 'U01LINA', line: 12 }]);
  });

  it('lists the free-text lines', () => {
    expect(result.unread.map((line) => [line.line, line.reason])).toEqual([
      [1, 'not_an_item'],
      [12, 'not_an_item'],
      [13, 'not_an_item'],
    ]);
    expect(result.unread[2]?.text).toBe('xunlian 是双卡的 H100，可以拿去研究 ep 通讯。');
  });
});

describe('parsePlanMessage on other messages', () => {
  it('reads typos, mentions and unreadable lines', () => {
    const message = [
      '下周计划',
      '1. 训练医疗 phi4，VM yanshiyiliaoo，周二完成，<@U01CHENCHEN> 负责',
      '2) 部署多模态 phi4 - VM guanzongphi4 - 星期3 18:00',
      '3、处理数据集 —— 周八完成',
      '4、评测一下新模型',
      '5、研究 ep 通讯 —— xunlian，礼拜五 @刘洋',
      '6、跑通讯基准 —— 周三 6点',
      '1、重复的编号 —— 周四',
      '7 和 9 我来做',
    ].join('\n');
    const result = parsePlanMessage(message, context);

    const first = result.items.find((item) => item.number === '1');
    expect(first?.vm).toBe('yanshiyiliao');
    expect(first?.warnings).toEqual([{ key: 'plan.import.vm_corrected', params: { typed: 'yanshiyiliaoo', vm: 'yanshiyiliao' } }]);
    expect(first?.owner).toBe('U01CHENCHEN');
    expect(first?.recipe).toBe('medical-phi4');
    expect(first?.due).toBe(at('2026-12-01T18:00:00+08:00'));

    const second = result.items.find((item) => item.number === '2');
    expect(second?.vm).toBe('guanzongphi4');
    expect(second?.recipe).toBe('phi4-multimodal');
    expect(second?.due).toBe(at('2026-12-02T18:00:00+08:00'));

    const fifth = result.items.find((item) => item.number === '5');
    expect(fifth?.owner).toBe('U01LIUYANG');
    expect(fifth?.due).toBe(at('2026-12-04T18:00:00+08:00'));

    expect(result.items.map((item) => item.number)).toEqual(['1', '2', '5']);
    expect(result.unread.map((line) => [line.line, line.reason])).toEqual([
      [1, 'not_an_item'],
      [4, 'bad_due'],
      [5, 'no_due'],
      [7, 'bad_due'],
      [8, 'duplicate_number'],
      [9, 'unknown_number'],
      [9, 'unknown_number'],
    ]);
    expect(result.unread[1]?.due).toBe('周八完成');
  });

  it('reads a message with no items', () => {
    const result = parsePlanMessage('这周大家辛苦了\n\n下周再说', context);
    expect(result.items).toEqual([]);
    expect(result.unread.map((line) => line.text)).toEqual(['这周大家辛苦了', '下周再说']);
  });

  it('keeps a numbered line without due and without sub-items', () => {
    const result = parsePlanMessage('1、整理文档', context);
    expect(result.groups).toEqual([]);
    expect(result.unread).toEqual([{ line: 1, text: '1、整理文档', reason: 'no_due' }]);
  });

  it('reads an English plan', () => {
    const message = ['1. deploy phi4 multimodal on VM guanzongphi4, due monday', '2. train medical phi4 - VM yanshiyiliao - tue-wed'].join('\n');
    const result = parsePlanMessage(message, context);
    expect(result.items.map((item) => [item.number, item.vm, item.due])).toEqual([
      ['1', 'guanzongphi4', at('2026-11-30T18:00:00+08:00')],
      ['2', 'yanshiyiliao', at('2026-12-02T18:00:00+08:00')],
    ]);
  });
});
