import type { ParseContext } from './context.js';
import { isParseError, parseError, type ParseError } from './parse-error.js';
import { resolveVm } from './resolve.js';
import { suggestName } from '../config/suggest.js';
import { tokenize } from './tokenize.js';

/**
 * Grammar of `/vm`: `list`, `start <vm>`, `stop <vm>`, `status <vm>`, with the Chinese
 * words the team uses (`列表`, `启动`/`开机`, `停止`/`关机`/`释放`, `状态`). A bare
 * `/vm` lists. `stop` always means deallocate: Azure bills a VM that is only stopped.
 */
export type VmCommand =
  | { readonly action: 'list' }
  | { readonly action: 'start' | 'stop' | 'status'; readonly vm: string };

const ACTIONS: Readonly<Record<string, VmCommand['action']>> = {
  list: 'list',
  ls: 'list',
  列表: 'list',
  start: 'start',
  启动: 'start',
  开机: 'start',
  stop: 'stop',
  deallocate: 'stop',
  停止: 'stop',
  关机: 'stop',
  释放: 'stop',
  status: 'status',
  状态: 'status',
};

export function parseVm(text: string, ctx: ParseContext): VmCommand | ParseError {
  const tokens = tokenize(text);
  if (isParseError(tokens)) return tokens;
  if (tokens.length === 0) return { action: 'list' };

  const word = tokens[0]!;
  const action = ACTIONS[word.toLowerCase()];
  if (action === undefined) {
    return parseError('vm.error.unknown_action', {
      word: word.slice(0, 40),
      suggestion: suggestName(word, ['list', 'start', 'stop', 'status']) ?? '',
    });
  }

  if (action === 'list') {
    if (tokens.length > 1) return parseError('vm.error.extra_words', { word: tokens[1]!.slice(0, 40), action });
    return { action };
  }

  const vmNames = Object.keys(ctx.config.vms);
  const vmName = tokens[1];
  if (vmName === undefined) {
    return parseError('vm.error.missing_vm', { action, valid: vmNames.join(', ') });
  }
  const vm = resolveVm(ctx.config, vmName);
  if (isParseError(vm)) return vm;
  if (tokens.length > 2) return parseError('vm.error.extra_words', { word: tokens[2]!.slice(0, 40), action });
  return { action, vm: vmName };
}
