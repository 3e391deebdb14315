import { describe, expect, it } from 'vitest';

import { translate } from '../../src/bot/i18n.js';
import { parseBench } from '../../src/commands/bench-parse.js';
import type { ParseContext } from '../../src/commands/context.js';
import { parseDataset } from '../../src/commands/dataset-parse.js';
import { parseDeploy } from '../../src/commands/deploy-parse.js';
import { createCommandRegistry } from '../../src/commands/index.js';
import { isParseError, type ParseError } from '../../src/commands/parse-error.js';
import { loadConfig } from '../../src/config/load.js';

const config = loadConfig('config/trainops.example.yaml');
const ctx: ParseContext = { config, userId: 'U01CHENCHEN', channel: 'C0123TRAINOPS', locale: 'zh-CN', now: new Date('2026-12-07T09:00:00+08:00') };

function errorKey(result: unknown): string {
  expect(isParseError(result), `expected a ParseError, got ${JSON.stringify(result)}`).toBe(true);
  return (result as ParseError).key;
}

describe('deploy grammar', () => {
  it.each([
    ['phi4-multimodal', { action: 'start', recipe: 'phi4-multimodal', vm: 'guanzongphi4' }],
    ['phi4-multimodal on guanzongphi4', { action: 'start', recipe: 'phi4-multimodal', vm: 'guanzongphi4' }],
    ['phi4-multimodal 在 guanzongphi4 for 1', { action: 'start', recipe: 'phi4-multimodal', vm: 'guanzongphi4', planItem: '1' }],
    ['medical-phi4-serve on yanshiyiliao from #42', { action: 'start', recipe: 'medical-phi4-serve', vm: 'yanshiyiliao', sourceRunId: '42' }],
    ['medical-phi4-serve yanshiyiliao from ＃7', { action: 'start', recipe: 'medical-phi4-serve', vm: 'yanshiyiliao', sourceRunId: '7' }],
    ['medical-phi4 on yanshiyiliao from #42', { action: 'start', recipe: 'medical-phi4-serve', vm: 'yanshiyiliao', sourceRunId: '42' }],
    ['stop guanzongphi4', { action: 'stop', vm: 'guanzongphi4' }],
    ['停止 guanzongphi4', { action: 'stop', vm: 'guanzongphi4' }],
  ])('%s', (text, expected) => {
    expect(parseDeploy(text, ctx)).toEqual(expected);
  });

  it.each([
    ['', 'deploy.usage'],
    ['stop', 'deploy.usage'],
    ['stop nowhere', 'core.error.unknown_vm'],
    ['phi4-multimodl', 'core.error.unknown_recipe'],
    ['medical-data', 'core.error.wrong_kind'],
    ['phi4-multimodal on nowhere', 'core.error.unknown_vm'],
    ['phi4-multimodal from', 'core.error.missing_after'],
    ['phi4-multimodal from latest', 'deploy.error.run_ref'],
    ['phi4-multimodal on guanzongphi4 on yanshi', 'core.error.vm_twice'],
    ['phi4-multimodal lr=1', 'core.error.unexpected_word'],
  ])('rejects %j', (text, key) => {
    expect(errorKey(parseDeploy(text, ctx))).toBe(key);
  });
});

describe('dataset grammar', () => {
  it.each([
    ['check medical-data', { recipe: 'medical-data', vm: 'yanshiyiliao' }],
    ['检查 medical-data 在 yanshi for 3', { recipe: 'medical-data', vm: 'yanshi', planItem: '3' }],
  ])('%s', (text, expected) => {
    expect(parseDataset(text, ctx)).toEqual(expected);
  });

  it.each([
    ['', 'dataset.usage'],
    ['check', 'dataset.usage'],
    ['list medical-data', 'dataset.usage'],
    ['check phi4-multimodal', 'core.error.wrong_kind'],
    ['check medical-data for x', 'core.error.plan_item_invalid'],
  ])('rejects %j', (text, key) => {
    expect(errorKey(parseDataset(text, ctx))).toBe(key);
  });
});

describe('bench grammar', () => {
  it.each([
    ['comm', { recipe: 'comm', vm: 'xunlian' }],
    ['comm on xunlian', { recipe: 'comm', vm: 'xunlian' }],
    ['通信 在 yanshi', { recipe: 'comm', vm: 'yanshi' }],
  ])('%s', (text, expected) => {
    expect(parseBench(text, ctx)).toEqual(expected);
  });

  it.each([
    ['', 'bench.usage'],
    ['disk on xunlian', 'bench.usage'],
    ['comm on nowhere', 'core.error.unknown_vm'],
    ['comm medical-data', 'core.error.wrong_kind'],
  ])('rejects %j', (text, key) => {
    expect(errorKey(parseBench(text, ctx))).toBe(key);
  });

  it('asks for a VM for the built-in benchmark', () => {
    const recipes = Object.fromEntries(Object.entries(config.recipes).filter(([, recipe]) => recipe.kind !== 'bench'));
    const result = parseBench('comm', { ...ctx, config: { ...config, recipes } });
    const error = result as ParseError;

    expect(errorKey(result)).toBe('bench.error.vm_required');
    const text = translate('zh-CN', error.key, error.params);
    expect(text).toMatch(/^`\/bench comm` 需要指定虚拟机，例如 `\/bench comm 在 \S+`/);
    expect(text).not.toContain('配方');
  });
});

describe('registry', () => {
  it('registers deploy, dataset and bench', () => {
    const registry = createCommandRegistry();
    expect(registry.find('/deploy')?.name).toBe('deploy');
    expect(registry.find('部署')?.name).toBe('deploy');
    expect(registry.find('数据集')?.name).toBe('dataset');
    expect(registry.find('bench')?.name).toBe('bench');
  });
});
