import { distance } from 'fastest-levenshtein';

import type { Recipe } from '../config/schema.js';
import type { PlanItemKind } from './plan-types.js';

/**
 * Matches the free text of a plan item against the configured VM and recipe names.
 * Pure: the caller passes the config sections.
 */

export interface VmMatch {
  vm: string;
  /** The word as typed, when it differed from the VM name (a typo within edit distance 2). */
  typed?: string;
}

/** Finds a configured VM named in `text`, exactly or with a small typo. */
export function matchVm(text: string, vmNames: readonly string[]): VmMatch | undefined {
  const words = text.toLowerCase().match(/[a-z0-9][a-z0-9._-]*/g) ?? [];
  for (const word of words) {
    if (vmNames.includes(word)) return { vm: word };
  }

  // Typos only for words long enough that two edits cannot turn one name into another.
  for (const word of words) {
    if (word.length < 6) continue;
    const near = vmNames
      .map((vm) => ({ vm, edits: distance(word, vm) }))
      .filter((candidate) => candidate.edits <= 2 && candidate.vm.length >= 6)
      .sort((a, b) => a.edits - b.edits);
    if (near.length === 1 || (near.length > 1 && near[0]!.edits < near[1]!.edits)) {
      return { vm: near[0]!.vm, typed: word };
    }
  }
  return undefined;
}

/** Chinese words the team uses for parts of recipe names. */
const ALIASES: ReadonlyArray<[RegExp, string]> = [
  [/医疗|醫療/g, 'medical'],
  [/数据集|数据|數據/g, 'data'],
  [/多模态|多模態/g, 'multimodal'],
  [/强化学习/g, 'rl'],
  [/通讯|通信/g, 'comm'],
];

function normalize(text: string): string {
  let result = text.toLowerCase();
  for (const [pattern, replacement] of ALIASES) result = result.replace(pattern, replacement);
  return result.replace(/[\s\-_.+/:,，、—]+/g, '');
}

function compatibleKinds(kind: PlanItemKind): ReadonlyArray<Recipe['kind']> {
  switch (kind) {
    case 'train':
    case 'train_deploy':
      return ['train'];
    case 'deploy':
      return ['deploy'];
    case 'dataset':
      return ['dataset'];
    default:
      return ['train', 'deploy', 'dataset', 'bench'];
  }
}

/**
 * Picks the recipe whose name parts and model best match the item text. A recipe
 * needs at least one matching name part or its model id. Each of its name parts the
 * text lacks lowers its score. The item kind, when known, must agree with the recipe
 * kind, and the item's VM breaks ties. Returns undefined
 * when nothing matches or two recipes tie.
 */
export function matchRecipe(
  text: string,
  kind: PlanItemKind,
  recipes: Readonly<Record<string, Recipe>>,
  vm?: string,
): string | undefined {
  const haystack = normalize(text);
  const allowed = compatibleKinds(kind);
  const scored: Array<{ name: string; score: number }> = [];

  for (const [name, recipe] of Object.entries(recipes)) {
    if (!allowed.includes(recipe.kind)) continue;
    if (haystack.includes(normalize(name))) {
      scored.push({ name, score: 100 });
      continue;
    }

    let evidence = 0;
    let missing = 0;
    const model = 'model' in recipe && recipe.model ? normalize(recipe.model.split('/').pop() ?? '') : '';
    if (model.length > 0 && haystack.includes(model)) evidence += 3;
    for (const part of name.split('-').map(normalize)) {
      if (part.length < 2) continue;
      if (haystack.includes(part)) evidence += 2;
      else missing += 1;
    }
    if (evidence === 0) continue;

    // A name part the text does not mention (`serve` in medical-phi4-serve) is a
    // qualifier the item lacks, so it counts against the recipe.
    let score = evidence - missing;
    if (kind !== 'other') score += 2;
    if (vm && 'vm' in recipe && recipe.vm === vm) score += 1;
    scored.push({ name, score });
  }

  scored.sort((a, b) => b.score - a.score);
  const best = scored[0];
  if (!best || best.score < 3) return undefined;
  if (scored[1] && scored[1].score === best.score) return undefined;
  return best.name;
}
