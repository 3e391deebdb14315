import type { ParseContext } from './context.js';
import { isParseError, parseError, type ParseError } from './parse-error.js';
import { resolveRecipe } from './resolve.js';
import { readTargetClause, resolveTargetVm, type RunTarget } from './run-target.js';
import { tokenize } from './tokenize.js';

/**
 * `/dataset check <recipe> [on <vm>] [for <plan item>]` checks the recipe's data set on
 * the VM, for example `/dataset check medical-zh on yanshiyiliao for 3`. The VM may be
 * left out when the recipe names one.
 */
export interface DatasetCommand {
  readonly recipe: string;
  readonly vm: string;
  readonly planItem?: string;
}

const CHECK_WORDS = new Set(['check', '检查']);

export function parseDataset(text: string, ctx: ParseContext): DatasetCommand | ParseError {
  const tokens = tokenize(text);
  if (isParseError(tokens)) return tokens;
  const [subcommand, recipeToken, ...rest] = tokens;
  if (subcommand === undefined || !CHECK_WORDS.has(subcommand.toLowerCase()) || recipeToken === undefined) return parseError('dataset.usage');

  const recipeName = recipeToken.toLowerCase();
  const recipe = resolveRecipe(ctx.config, recipeName, 'dataset');
  if (isParseError(recipe)) return recipe;

  const target: RunTarget = {};
  for (let index = 0; index < rest.length; ) {
    const used = readTargetClause(rest, index, target, ctx.config);
    if (isParseError(used)) return used;
    index += used;
  }

  const vm = resolveTargetVm(ctx.config, recipeName, target.vmName, recipe.vm);
  if (isParseError(vm)) return vm;
  return { recipe: recipeName, vm, ...(target.planItem ? { planItem: target.planItem } : {}) };
}
