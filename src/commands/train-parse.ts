import type { ParseContext } from './context.js';
import { exampleNames } from './examples.js';
import { isAssignment, parseOverrides, type OverrideMap } from './overrides.js';
import { isParseError, parseError, type ParseError } from './parse-error.js';
import { resolveRecipe } from './resolve.js';
import { readTargetClause, resolveTargetVm, type RunTarget } from './run-target.js';
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

export function parseTrain(text: string, ctx: ParseContext): TrainCommand | ParseError {
  const tokens = tokenize(text);
  if (isParseError(tokens)) return tokens;

  const [recipeName, ...rest] = tokens;
  if (recipeName === undefined) return parseError('core.error.train_usage', { ...exampleNames(ctx.config) });

  const recipe = resolveRecipe(ctx.config, recipeName.toLowerCase(), 'train');
  if (isParseError(recipe)) return recipe;

  const target: RunTarget = {};
  const assignments: string[] = [];
  for (let index = 0; index < rest.length; ) {
    const token = rest[index]!;
    if (isAssignment(token)) {
      assignments.push(token);
      index += 1;
      continue;
    }
    const used = readTargetClause(rest, index, target, ctx.config);
    if (isParseError(used)) return used;
    index += used;
  }

  const vm = resolveTargetVm(ctx.config, recipeName.toLowerCase(), target.vmName, recipe.vm);
  if (isParseError(vm)) return vm;

  const overrides = parseOverrides(assignments, recipe.overrides);
  if (isParseError(overrides)) return overrides;

  return { recipe: recipeName.toLowerCase(), vm, overrides, ...(target.planItem ? { planItem: target.planItem } : {}) };
}
