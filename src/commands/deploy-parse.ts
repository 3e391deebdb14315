import type { ParseContext } from './context.js';
import { isParseError, parseError, type ParseError } from './parse-error.js';
import { resolveRecipe, resolveVm } from './resolve.js';
import { isRunRef } from './run-ref.js';
import { readTargetClause, resolveTargetVm, shortenToken, type RunTarget } from './run-target.js';
import { tokenize } from './tokenize.js';

/**
 * `/deploy <recipe> [on <vm>] [from #<run>] [for <plan item>]` starts a deployment, for
 * example `/deploy medical-phi4 on yanshiyiliao from #42`; `/deploy stop <vm>` stops the
 * deployment serving on a VM. The VM may be left out when the recipe names one.
 */
export type DeployCommand =
  | { readonly action: 'start'; readonly recipe: string; readonly vm: string; readonly sourceRunId?: string; readonly planItem?: string }
  | { readonly action: 'stop'; readonly vm: string };

const STOP_WORDS = new Set(['stop', '停止', '停']);
const FROM_WORDS = new Set(['from', '来自', '用']);

export function parseDeploy(text: string, ctx: ParseContext): DeployCommand | ParseError {
  const tokens = tokenize(text);
  if (isParseError(tokens)) return tokens;
  const [first, ...rest] = tokens;
  if (first === undefined) return parseError('deploy.usage');

  if (STOP_WORDS.has(first.toLowerCase())) return parseStop(rest, ctx);
  return parseStart(first.toLowerCase(), rest, ctx);
}

function parseStop(rest: string[], ctx: ParseContext): DeployCommand | ParseError {
  const words = rest.map((token) => token.toLowerCase()).filter((word) => word !== 'on');
  if (words.length === 0) return parseError('deploy.usage');
  if (words.length > 1) return parseError('core.error.unexpected_word', { word: shortenToken(words[1]!) });
  const vm = resolveVm(ctx.config, words[0]!);
  if (isParseError(vm)) return vm;
  return { action: 'stop', vm: words[0]! };
}

function parseStart(typedName: string, rest: string[], ctx: ParseContext): DeployCommand | ParseError {
  // A training recipe with `deployAfter` stands for its deploy recipe: `/deploy medical-phi4 from #42`.
  const typed = Object.hasOwn(ctx.config.recipes, typedName) ? ctx.config.recipes[typedName] : undefined;
  const recipeName = typed?.kind === 'train' && typed.deployAfter ? typed.deployAfter : typedName;
  const recipe = resolveRecipe(ctx.config, recipeName, 'deploy');
  if (isParseError(recipe)) return recipe;

  const target: RunTarget = {};
  let sourceRunId: string | undefined;

  for (let index = 0; index < rest.length; ) {
    const token = rest[index]!;
    if (FROM_WORDS.has(token.toLowerCase())) {
      const value = rest[index + 1];
      if (value === undefined) return parseError('core.error.missing_after', { word: token });
      if (!isRunRef(value)) return parseError('deploy.error.run_ref');
      sourceRunId = String(Number(value.replace(/^#/, '')));
      index += 2;
      continue;
    }
    const used = readTargetClause(rest, index, target, ctx.config);
    if (isParseError(used)) return used;
    index += used;
  }

  const vm = resolveTargetVm(ctx.config, recipeName, target.vmName, recipe.vm);
  if (isParseError(vm)) return vm;

  return { action: 'start', recipe: recipeName, vm, ...(sourceRunId ? { sourceRunId } : {}), ...(target.planItem ? { planItem: target.planItem } : {}) };
}
