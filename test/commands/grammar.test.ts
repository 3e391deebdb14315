import { describe, expect, it } from 'vitest';

import { translator } from '../../src/bot/i18n.js';
import { loadConfig } from '../../src/config/load.js';
import type { ParseContext } from '../../src/commands/context.js';
import { renderParseError } from '../../src/commands/dispatch.js';
import { createCommandRegistry } from '../../src/commands/index.js';
import { isParseError, type ParseError } from '../../src/commands/parse-error.js';
import { tokenize } from '../../src/commands/tokenize.js';

const config = loadConfig('config/trainops.example.yaml');
const registry = createCommandRegistry();

function parse(commandText: string, extra: Partial<ParseContext> = {}): unknown {
  const [word, ...rest] = commandText.split(' ');
  const spec = registry.find(word!);
  if (!spec) throw new Error(`no command ${word}`);
  const ctx: ParseContext = {
    config,
    userId: 'U01CHENCHEN',
    channel: 'C0123TRAINOPS',
    locale: 'zh-CN',
    now: new Date('2026-12-07T09:00:00+08:00'),
    ...extra,
  };
  return spec.parse(rest.join(' '), ctx);
}

function errorKey(result: unknown): string {
  expect(isParseError(result), `expected a ParseError, got ${JSON.stringify(result)}`).toBe(true);
  return (result as ParseError).key;
}

describe('tokenize', () => {
  it.each([
    ['medical-phi4 on yanshiyiliao', ['medical-phi4', 'on', 'yanshiyiliao']],
    ['medical-phi4 在 yanshiyiliao', ['medical-phi4', 'on', 'yanshiyiliao']],
    ['medical-phi4在yanshiyiliao', ['medical-phi4', 'on', 'yanshiyiliao']],
    ['现在 开始', ['现在', '开始']],
    ['a\u3000b', ['a', 'b']],
    ['lr＝1e-4，epochs=2', ['lr=1e-4', 'epochs=2']],
    ['note="two words" x', ['note=two words', 'x']],
    ['note=“中文 引号”', ['note=中文 引号']],
    ['＃42', ['#42']],
    ['a\nb', ['a', 'b']],
    ['""', ['']],
  ])('%j', (text, expected) => {
    expect(tokenize(text)).toEqual(expected);
  });

  it.each([
    ['"open', 'core.error.unterminated_quote'],
    ['x'.repeat(2001), 'core.error.too_long'],
    ['a\u0007b', 'core.error.control_character'],
  ])('rejects %#', (text, key) => {
    expect(errorKey(tokenize(text))).toBe(key);
  });
});

describe('train grammar', () => {
  it.each([
    ['train medical-phi4 on yanshiyiliao lr=1e-4 epochs=2', { recipe: 'medical-phi4', vm: 'yanshiyiliao', overrides: { lr: 1e-4, epochs: 2 } }],
    ['train medical-phi4 在 yanshiyiliao', { recipe: 'medical-phi4', vm: 'yanshiyiliao', overrides: {} }],
    ['训练 medical-phi4在yanshi batch=8', { recipe: 'medical-phi4', vm: 'yanshi', overrides: { batch: 8 } }],
    ['train medical-phi4', { recipe: 'medical-phi4', vm: 'yanshiyiliao', overrides: {} }],
    ['train Medical-Phi4 xunlian', { recipe: 'medical-phi4', vm: 'xunlian', overrides: {} }],
    ['train phi35moe-medical bits=4 for 2.3', { recipe: 'phi35moe-medical', vm: 'xunlian', overrides: { bits: '4' }, planItem: '2.3' }],
    ['train sft-rl-phi4 LR=5e-6', { recipe: 'sft-rl-phi4', vm: 'yanshi', overrides: { lr: 5e-6 } }],
  ])('%s', (text, expected) => {
    expect(parse(text)).toEqual(expected);
  });

  it.each([
    ['train', 'core.error.train_usage'],
    ['train medical-ph14', 'core.error.unknown_recipe'],
    ['train phi4-multimodal', 'core.error.wrong_kind'],
    ['train medical-phi4 on yanshiyiliau', 'core.error.unknown_vm'],
    ['train medical-phi4 on', 'core.error.missing_after'],
    ['train medical-phi4 on yanshi on xunlian', 'core.error.vm_twice'],
    ['train medical-phi4 dropout=0.2', 'core.error.override_unknown'],
    ['train medical-phi4 lr=fast', 'core.error.override_not_number'],
    ['train medical-phi4 lr=1', 'core.error.override_range'],
    ['train medical-phi4 lr=1e-4 lr=2e-4', 'core.error.override_duplicate'],
    ['train medical-phi4 batch=2.5', 'core.error.override_not_integer'],
    ['train medical-phi4 epochs=Infinity', 'core.error.override_not_number'],
    ['train medical-phi4 epochs=0x10', 'core.error.override_not_number'],
    ['train phi35moe-medical bits=3', 'core.error.override_enum'],
    ['train medical-phi4 for tomorrow', 'core.error.plan_item_invalid'],
    ['train medical-phi4 please', 'core.error.unexpected_word'],
  ])('%s is rejected', (text, key) => {
    expect(errorKey(parse(text))).toBe(key);
  });

  it.each([
    'train medical-phi4; rm -rf /',
    'train $(reboot)',
    'train medical-phi4 lr=$(reboot)',
    'train medical-phi4 lr=`id`',
    'train medical-phi4 lr="1e-4; rm -rf ~"',
    "train medical-phi4 'on' yanshi\nrm -rf /",
    'train medical-phi4 epochs=2&&curl',
    `train ${'医'.repeat(3000)}`,
    'train 🚀 on 🌕',
    'train medical-phi4 lr=1e-4 "',
  ])('hostile text %# yields a typed error', (text) => {
    let result: unknown;
    expect(() => {
      result = parse(text);
    }).not.toThrow();
    expect(isParseError(result)).toBe(true);
  });

  it('suggests the nearest recipe and lists valid ones in Chinese', () => {
    const error = parse('train medical-ph14') as ParseError;
    const message = renderParseError(error, translator('zh-CN'));
    expect(message).toContain('medical-phi4');
    expect(message).toContain('你是不是想用');
    expect(message).toContain('phi35moe-medical');
    expect(message).not.toContain('phi4-multimodal');
  });

  it('suggests the nearest VM', () => {
    const message = renderParseError(parse('train medical-phi4 在 yanshiyiliau') as ParseError, translator('zh-CN'));
    expect(message).toContain('`yanshiyiliao`');
    expect(message).toContain('guanzongphi4、yanshiyiliao、yanshi、xunlian');
  });

  it('lists allowed overrides for an unknown name', () => {
    const message = renderParseError(parse('train medical-phi4 lrate=1e-4') as ParseError, translator('en'));
    expect(message).toContain('lr, epochs, batch, rank, max_len');
    expect(message).toContain('Did you mean `lr`');
  });
});

describe('override values', () => {
  it('names a missing value and shows the form', () => {
    const error = parse('train medical-phi4 lr=') as ParseError;
    expect(error.key).toBe('core.error.override_missing_value');
    expect(renderParseError(error, translator('zh-CN'))).toBe('参数 lr 缺少值，请写成 `lr=1e-4` 的形式。');
  });

  it('joins allowed names with 、 in Chinese', () => {
    const message = renderParseError(parse('train medical-phi4 lrate=1e-4') as ParseError, translator('zh-CN'));
    expect(message).toContain('lr、epochs、batch、rank、max_len');
  });
});

describe('person references', () => {
  it.each([
    ['oncall set <@U01LINA>', 'U01LINA'],
    ['oncall set <@U01LINA|lina>', 'U01LINA'],
    ['oncall set @U01LINA', 'U01LINA'],
    ['oncall set @李娜', 'U01LINA'],
    ['oncall set 李娜', 'U01LINA'],
    ['oncall set ＠李娜', 'U01LINA'],
  ])('%s', (text, userId) => {
    expect(parse(text)).toEqual({ kind: 'set', userId });
  });

  it('rejects an unknown name and lists the members', () => {
    const error = parse('oncall set @张三') as ParseError;
    expect(error.key).toBe('core.error.member_unknown');
    expect(renderParseError(error, translator('zh-CN'))).toContain('@王磊、@李娜、@陈晨、@刘洋');
  });

  it.each([['<@U01LINA|lina>'], ['@李娜'], ['<@U01LINA>']])('plan owner %s', (owner) => {
    expect(parse(`plan add "评测" due 周五 owner ${owner}`)).toMatchObject({ action: 'add', fields: { owner: 'U01LINA' } });
  });
});

describe('run id grammar', () => {
  it.each([
    ['status #42', {}, { runId: '42' }],
    ['status ＃042', {}, { runId: '42' }],
    ['status', { threadRunId: '7' }, { runId: '7' }],
    ['cancel #3', { threadRunId: '7' }, { runId: '3' }],
    ['取消', { threadRunId: '7' }, { runId: '7' }],
    ['logs #42 100', {}, { runId: '42', lines: 100 }],
    ['logs 42 100', {}, { runId: '42', lines: 100 }],
    ['logs #42', {}, { runId: '42', lines: 50 }],
    ['logs 20', { threadRunId: '9' }, { runId: '9', lines: 20 }],
    ['日志', { threadRunId: '9' }, { runId: '9', lines: 50 }],
    // Outside a thread the id may be left out: the handler picks the person's only active run.
    ['status', {}, {}],
    ['cancel', {}, {}],
    ['logs 20', {}, { lines: 20 }],
    ['runs', {}, { mineOnly: false }],
    ['runs mine', {}, { mineOnly: true }],
    ['help train', {}, { topic: 'train' }],
  ])('%s', (text, extra, expected) => {
    expect(parse(text, extra)).toEqual(expected);
  });

  it.each([
    ['restart', 'core.error.run_id_missing'],
    ['status abc', 'core.error.run_id_invalid'],
    ['status #42 #43', 'core.error.unexpected_word'],
    ['cancel $(id)', 'core.error.run_id_invalid'],
    ['logs #42 0', 'core.error.lines_invalid'],
    ['logs #42 999999', 'core.error.lines_invalid'],
    ['logs #42 ten', 'core.error.lines_invalid'],
    ['runs everything', 'core.error.unexpected_word'],
  ])('%s is rejected', (text, key) => {
    expect(errorKey(parse(text))).toBe(key);
  });
});
