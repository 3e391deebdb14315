import type { ParseContext } from './context.js';
import { exampleNames } from './examples.js';
import { isAssignment, parseOverrides, type OverrideMap } from './overrides.js';
import { isParseError, parseError, type ParseError } from './parse-error.js';
import { isVmName, resolveRecipe, resolveVm } from './resolve.js';
import { tokenize } from './tokenize.js';

/**
 * `/train <recipe> [on <vm>] [for <plan item>] [name=value ...]`, for example
 * `/train medical-phi4 on yanshiyiliao lr=1e-4 epochs=2` or `/train medical-phi4 在 yanshiyiliao`.
 * The VM may be left out when the recipe names one.
 */
export interface TrainCommand {
  readonly recipe: string;
  readonly vm: string;
  /** Validated values keyed by override name (`lr`). */
  readonly overrides: OverrideMap;
  readonly planItem?: string;
}

const PLAN_ITEM = /^\d+(\.\d+)*$/;

export function parseTrain(text: string, ctx: ParseContext): TrainCommand | ParseError {
  const tokens = tokenize(text);
  if (isParseError(tokens)) return tokens;

  const [recipeName, ...rest] = tokens;
  if (recipeName === undefined) return parseError('core.error.train_usage', { ...exampleNames(ctx.config) });

  const recipe = resolveRecipe(ctx.config, recipeName.toLowerCase(), 'train');
  if (isParseError(recipe)) return recipe;

  let vmName: string | undefined;
  let planItem: string | undefined;
  const assignments: string[] = [];

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
        if (!PLAN_ITEM.test(value)) return parseError('core.error.plan_item_invalid', { value: shorten(value) });
        planItem = value;
      }
    } else if (isAssignment(token)) {
      assignments.push(token);
    } else if (vmName === undefined && isVmName(ctx.config, word)) {
      vmName = word;
    } else {
      return parseError('core.error.unexpected_word', { word: shorten(token) });
    }
  }

  const vm = vmName ?? recipe.vm;
  if (vm === undefined) {
    return parseError('core.error.vm_required', { recipe: recipeName, valid: Object.keys(ctx.config.vms).join(', ') });
  }
  const vmConfig = resolveVm(ctx.config, vm);
  if (isParseError(vmConfig)) return vmConfig;

  const overrides = parseOverrides(assignments, recipe.overrides);
  if (isParseError(overrides)) return overrides;

  return { recipe: recipeName.toLowerCase(), vm, overrides, ...(planItem ? { planItem } : {}) };
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
