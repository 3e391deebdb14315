import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { findMissingKeys, translate } from '../../src/bot/i18n.js';
import { catalogs } from '../../src/bot/messages/index.js';
import { createCommandRegistry } from '../../src/commands/index.js';

describe('message catalogs', () => {
  it('have every key in both locales', () => {
    expect(findMissingKeys()).toEqual({ missingInEn: [], missingInZh: [] });
  });

  it('use the same placeholders in both locales', () => {
    const mismatched = Object.keys(catalogs['zh-CN']).filter((key) => {
      const names = (text: string | undefined): string => [...(text ?? '').matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
      return names(catalogs['zh-CN'][key]) !== names(catalogs.en[key]);
    });
    expect(mismatched).toEqual([]);
  });

  it('speak of stopping the trainer, not of signals', () => {
    const keys = ['core.cancel.signalled', 'core.cancel.signalled_starting', 'core.button.cancel_confirm_text', 'runs.button.cancelConfirmText', 'runs.cancel.requestedStarting'];
    for (const key of keys) {
      expect(catalogs['zh-CN'][key], key).not.toMatch(/SIG|TERM/);
      expect(catalogs.en[key], key).not.toMatch(/SIG|TERM/);
    }
    expect(translate('zh-CN', 'core.cancel.signalled', { id: 42 })).toBe('已通知 #42 的训练进程停止：它会先保存检查点再退出，线程里随后会显示“已取消”。');
  });

  it('have help for every registered command', () => {
    for (const spec of createCommandRegistry().list()) {
      expect(catalogs['zh-CN'][spec.helpKey], spec.helpKey).toBeDefined();
      expect(catalogs.en[spec.helpKey], spec.helpKey).toBeDefined();
    }
  });

  it('have every core key the code uses', () => {
    const files = ['src/commands', 'src/bot'].flatMap((dir) =>
      readdirSync(dir)
        .filter((name) => name.endsWith('.ts'))
        .map((name) => path.join(dir, name)),
    );
    const used = new Set(files.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/'((?:core|console)\.[a-z_.]+[a-z_])'/g)].map((m) => m[1]!)));
    expect(used.size).toBeGreaterThan(40);
    const missing = [...used].filter((key) => catalogs['zh-CN'][key] === undefined || catalogs.en[key] === undefined);
    expect(missing).toEqual([]);
  });

  it('have no key the code never looks up', () => {
    const sources = sourceFiles('src').filter((file) => !file.includes(`${path.sep}messages${path.sep}`));
    const text = sources.map((file) => readFileSync(file, 'utf8')).join('\n');
    // Keys built at run time: `runs.status.${status}`, `dataset.report.target_${position}` and `${labelKey}_empty`.
    const prefixes = [...text.matchAll(/`([a-z_]+(?:\.[a-zA-Z_]+)*[._])\$\{/g)].map((m) => m[1]!);
    const suffixes = [...text.matchAll(/\$\{[^}]+\}(_[a-z]+)`/g)].map((m) => m[1]!);
    const quoted = (key: string): boolean => text.includes(`'${key}'`);
    const unused = Object.keys(catalogs['zh-CN']).filter(
      (key) => !quoted(key) && !prefixes.some((prefix) => key.startsWith(prefix)) && !suffixes.some((suffix) => key.endsWith(suffix) && quoted(key.slice(0, -suffix.length))),
    );
    expect(prefixes.length).toBeGreaterThan(5);
    expect(unused).toEqual([]);
  });

  it('fill placeholders', () => {
    expect(translate('zh-CN', 'core.cancel.done', { id: 42 })).toBe('已取消 #42。');
    expect(translate('en', 'core.cancel.done', { id: 42 })).toBe('Cancelled #42.');
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return file.endsWith('.ts') ? [file] : [];
  });
}
