import type { Config } from '../config/schema.js';
import type { ParseContext } from './context.js';
import { isParseError, parseError, type ParseError } from './parse-error.js';
import { isVmName, resolveRecipe, resolveVm } from './resolve.js';
import { tokenize } from './tokenize.js';

/**
 * `/bench comm [<recipe>] [on <vm>]`: the collective communication benchmark. Without a
 * recipe the first bench recipe in the config is used, or the built-in defaults
 * (recipe name `comm`) when there is none; the VM defaults to the recipe's.
 */
export interface BenchCommand {
  readonly recipe: string;
  readonly vm: string;
}

/** Recipe name of a benchmark run that uses the built-in defaults. */
export const DEFAULT_BENCH_RECIPE = 'comm';

export function parseBench(text: string, ctx: ParseContext): BenchCommand | ParseError {
  const tokens = tokenize(text);
  if (isParseError(tokens)) return tokens;
  const [subcommand, ...rest] = tokens;
  if (subcommand?.toLowerCase() !== 'comm' && subcommand !== '通信') return parseError('bench.usage');

  let recipeName: string | undefined;
  let vmName: string | undefined;
  for (let index = 0; index < rest.length; index += 1) {
    const token = rest[index]!;
    const word = token.toLowerCase();
    if (word === 'on') {
      const value = rest[index + 1];
      if (value === undefined) return parseError('core.error.missing_after', { word: token });
      if (vmName !== undefined) return parseError('core.error.vm_twice');
      vmName = value.toLowerCase();
      index += 1;
    } else if (vmName === undefined && isVmName(ctx.config, word)) {
      vmName = word;
    } else if (recipeName === undefined && ctx.config.recipes[word] !== undefined) {
      const recipe = resolveRecipe(ctx.config, word, 'bench');
      if (isParseError(recipe)) return recipe;
      recipeName = word;
    } else {
      return parseError('core.error.unexpected_word', { word: token.length > 40 ? `${token.slice(0, 40)}…` : token });
    }
  }

  const recipe = recipeName ?? defaultBenchRecipe(ctx.config);
  const vm = vmName ?? benchVmOf(ctx.config, recipe);
  if (vm === undefined) {
    const valid = Object.keys(ctx.config.vms);
    const params = { recipe, first: valid[0] ?? '', valid: valid.join(', ') };
    // The built-in benchmark is no recipe in the config, so the reply must not call it one.
    if (ctx.config.recipes[recipe] === undefined) return parseError('bench.error.vm_required', params);
    return parseError('core.error.vm_required', params);
  }
  const vmConfig = resolveVm(ctx.config, vm);
  if (isParseError(vmConfig)) return vmConfig;
  return { recipe, vm };
}

function defaultBenchRecipe(config: Config): string {
  return Object.entries(config.recipes).find(([, recipe]) => recipe.kind === 'bench')?.[0] ?? DEFAULT_BENCH_RECIPE;
}

function benchVmOf(config: Config, recipeName: string): string | undefined {
  const recipe = config.recipes[recipeName];
  return recipe?.kind === 'bench' ? recipe.vm : undefined;
}
