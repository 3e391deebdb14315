import type { ParseContext } from './context.js';
import { isParseError, parseError, type ParseError } from './parse-error.js';
import { isVmName, resolveRecipe, resolveVm } from './resolve.js';
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
const PLAN_ITEM = /^\d+(\.\d+)*$/;

export function parseDataset(text: string, ctx: ParseContext): DatasetCommand | ParseError {
  const tokens = tokenize(text);
  if (isParseError(tokens)) return tokens;
  const [subcommand, recipeToken, ...rest] = tokens;
  if (subcommand === undefined || !CHECK_WORDS.has(subcommand.toLowerCase()) || recipeToken === undefined) return parseError('dataset.usage');

  const recipeName = recipeToken.toLowerCase();
  const recipe = resolveRecipe(ctx.config, recipeName, 'dataset');
  if (isParseError(recipe)) return recipe;

  let vmName: string | undefined;
  let planItem: string | undefined;
  for (let index = 0; index < rest.length; index += 1) {
    const token = rest[index]!;
    const word = token.toLowerCase();
    if (word === 'on' || word === 'for') {
      const value = rest[index + 1];
      if (value === undefined) return parseError('core.error.missing_after', { word: token });
      index += 1;
      if (word === 'on') {
        if (vmName !== undefined) return parseError('core.error.vm_twice');
        vmName = value.toLowerCase();
      } else {
        if (!PLAN_ITEM.test(value)) return parseError('core.error.plan_item_invalid', { value: value.slice(0, 40) });
        planItem = value;
      }
    } else if (vmName === undefined && isVmName(ctx.config, word)) {
      vmName = word;
    } else {
      return parseError('core.error.unexpected_word', { word: token.length > 40 ? `${token.slice(0, 40)}…` : token });
    }
  }

  const vm = vmName ?? recipe.vm;
  if (vm === undefined) {
    const valid = Object.keys(ctx.config.vms);
    return parseError('core.error.vm_required', { recipe: recipeName, first: valid[0] ?? '', valid: valid.join(', ') });
  }
  const vmConfig = resolveVm(ctx.config, vm);
  if (isParseError(vmConfig)) return vmConfig;
  return { recipe: recipeName, vm, ...(planItem ? { planItem } : {}) };
}
