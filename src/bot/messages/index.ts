import type { Catalog, CatalogPair } from '../i18n.js';
import { coreMessages } from './core.js';
import { deployMessages } from './deploy.js';
import { oncallMessages } from './oncall.js';
import { planMessages } from './plan.js';
import { rlMessages } from './rl.js';
import { runsMessages } from './runs.js';
import { vmMessages } from './vm.js';

// Each feature adds its catalog file here, one import and one list entry.
const pairs: CatalogPair[] = [coreMessages, runsMessages, oncallMessages, vmMessages, planMessages, deployMessages, rlMessages];

function merge(locale: keyof CatalogPair): Catalog {
  return Object.assign({}, ...pairs.map((pair) => pair[locale])) as Catalog;
}

export const catalogs: CatalogPair = { 'zh-CN': merge('zh-CN'), en: merge('en') };
