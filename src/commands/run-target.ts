import type { Config } from '../config/schema.js';
import { isParseError, parseError, type ParseError } from './parse-error.js';
import { isVmName, resolveVm } from './resolve.js';

/**
 * The clauses that /train, /deploy and /dataset check accept after the recipe to say
 * where the run goes: `on <vm>` (or a bare VM name) and `for <plan item>`.
 */
export interface RunTarget {
  vmName?: string;
  planItem?: string;
}

const PLAN_ITEM = /^\d+(\.\d+)*$/;

/**
 * Reads the clause that starts at `tokens[index]` into `target`: `on <vm>`, `for <plan
 * item>` or a bare VM name. Returns how many tokens the clause used, or a parse error
 * when the clause is incomplete or repeated, or when the token starts no such clause.
 * A command checks its own clauses before it calls this.
 */
export function readTargetClause(tokens: readonly string[], index: number, target: RunTarget, config: Config): number | ParseError {
  const token = tokens[index]!;
  const word = token.toLowerCase();

  if (word === 'on' || word === 'for') {
    const value = tokens[index + 1];
    if (value === undefined) return parseError('core.error.missing_after', { word: token });
    if (word === 'on') {
      if (target.vmName !== undefined) return parseError('core.error.vm_twice');
      target.vmName = value.toLowerCase();
    } else {
      if (!PLAN_ITEM.test(value)) return parseError('core.error.plan_item_invalid', { value: shortenToken(value) });
      target.planItem = value;
    }
    return 2;
  }

  if (target.vmName === undefined && isVmName(config, word)) {
    target.vmName = word;
    return 1;
  }
  return parseError('core.error.unexpected_word', { word: shortenToken(token) });
}

/** Returns the VM the run goes to: the one the command names, else the recipe's default VM. */
export function resolveTargetVm(config: Config, recipeName: string, vmName: string | undefined, recipeVm: string | undefined): string | ParseError {
  const vm = vmName ?? recipeVm;
  if (vm === undefined) {
    const valid = Object.keys(config.vms);
    return parseError('core.error.vm_required', { recipe: recipeName, first: valid[0] ?? '', valid: valid.join(', ') });
  }
  const vmConfig = resolveVm(config, vm);
  return isParseError(vmConfig) ? vmConfig : vm;
}

/** Cuts a token that a message quotes to 40 characters, marking the cut with `…`. */
export function shortenToken(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
