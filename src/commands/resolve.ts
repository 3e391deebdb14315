import type { Config, Recipe, VmConfig } from '../config/schema.js';
import { parseError, type ParseError } from './parse-error.js';
import { suggestName } from '../config/suggest.js';

/**
 * Looks up recipe and VM names from the config, turning a miss into a ParseError that
 * lists the valid names and suggests the nearest one.
 */
export function resolveRecipe<K extends Recipe['kind']>(
  config: Config,
  name: string,
  kind: K,
): Extract<Recipe, { kind: K }> | ParseError {
  const names = Object.entries(config.recipes)
    .filter(([, recipe]) => recipe.kind === kind)
    .map(([recipeName]) => recipeName);
  const recipe = Object.hasOwn(config.recipes, name) ? config.recipes[name] : undefined;

  if (recipe === undefined) {
    return parseError(names.length > 0 ? 'core.error.unknown_recipe' : 'core.error.unknown_recipe_none', {
      name: shorten(name),
      kind,
      valid: names.join(', ') || '—',
      suggestion: suggestName(name, names) ?? '',
    });
  }
  if (recipe.kind !== kind) {
    return parseError(names.length > 0 ? 'core.error.wrong_kind' : 'core.error.wrong_kind_none', { name, kind: recipe.kind, expected: kind, valid: names.join(', ') || '—' });
  }
  return recipe as Extract<Recipe, { kind: K }>;
}

export function resolveVm(config: Config, name: string): VmConfig | ParseError {
  const names = Object.keys(config.vms);
  if (Object.hasOwn(config.vms, name)) return config.vms[name]!;
  return parseError('core.error.unknown_vm', {
    name: shorten(name),
    valid: names.join(', '),
    suggestion: suggestName(name, names) ?? '',
  });
}

export function isVmName(config: Config, name: string): boolean {
  return Object.hasOwn(config.vms, name);
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
