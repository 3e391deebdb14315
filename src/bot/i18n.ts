import type { Locale } from '../config/schema.js';
import { catalogs } from './messages/index.js';

/**
 * Message catalogs. Each feature owns one file in `src/bot/messages/` exporting a
 * `{ 'zh-CN': {...}, en: {...} }` pair with the same keys; `index.ts` merges them.
 * Placeholders are written `{name}` and filled from `params`.
 */
export type MessageParams = Record<string, string | number | undefined>;
export type Catalog = Record<string, string>;
export interface CatalogPair {
  'zh-CN': Catalog;
  en: Catalog;
}

export type Translate = (key: string, params?: MessageParams) => string;

export function translate(locale: Locale, key: string, params: MessageParams = {}): string {
  const template = catalogs[locale][key] ?? catalogs['zh-CN'][key];
  if (template === undefined) {
    // A missing key is a programming error, but a person should still see something.
    return key;
  }
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}

export function translator(locale: Locale): Translate {
  return (key, params) => translate(locale, key, params);
}

/** Keys present in one locale but not the other, for the catalog completeness test. */
export function findMissingKeys(): { missingInEn: string[]; missingInZh: string[] } {
  const zh = new Set(Object.keys(catalogs['zh-CN']));
  const en = new Set(Object.keys(catalogs.en));
  return {
    missingInEn: [...zh].filter((key) => !en.has(key)),
    missingInZh: [...en].filter((key) => !zh.has(key)),
  };
}
