import { readFileSync } from 'node:fs';
import path from 'node:path';

import { parseDocument } from 'yaml';
import type { z } from 'zod';

import { configSchema, type Config } from './schema.js';

/**
 * Loading the YAML config: parse, fill local defaults, validate with zod, and hand out
 * a deeply frozen `Config`. Every problem is reported at once, one `path: message` line
 * each, so a person fixes the file in one pass.
 */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid config ${source}:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** Python used for `transport: local` VMs that set no `python` (the demo's venv). */
  localPython?: string;
  /**
   * Folder that relative paths of `transport: local` VMs are taken from: their
   * `workdir` and the dataset paths of recipes that default to them. Without it they
   * stay relative, which the hosts read as relative to the home folder.
   */
  baseDir?: string;
}

/** Reads and validates the config file at `path`; throws ConfigError listing every problem. */
export function loadConfig(path: string, options: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError(path, [
      `${reason}; set TRAINOPS_CONFIG or copy config/trainops.example.yaml to config/trainops.yaml`,
    ]);
  }
  return parseConfig(text, path, options);
}

/** Validates config text; `source` names it in errors. Pure apart from the thrown ConfigError. */
export function parseConfig(text: string, source: string, options: LoadOptions = {}): Config {
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      source,
      document.errors.map((error) => `YAML ${error.linePos ? `line ${error.linePos[0].line}` : ''}: ${error.message.split('\n')[0]}`),
    );
  }

  const raw: unknown = document.toJS();
  applyLocalDefaults(raw, options);

  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new ConfigError(source, formatIssues(result.error.issues));
  }
  return deepFreeze(result.data);
}

/** Renders zod issues as `path: message` lines, sorted by path. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines = issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
  return [...new Set(lines)].sort();
}

function applyLocalDefaults(raw: unknown, options: LoadOptions): void {
  if (!isObject(raw) || !isObject(raw.vms)) return;
  const localVms = new Set<string>();

  for (const [name, vm] of Object.entries(raw.vms)) {
    if (!isObject(vm) || vm.transport !== 'local') continue;
    localVms.add(name);
    if (options.localPython && vm.python === undefined) vm.python = options.localPython;
    if (options.baseDir && typeof vm.workdir === 'string') vm.workdir = absolute(vm.workdir, options.baseDir);
  }

  if (!options.baseDir || !isObject(raw.recipes)) return;
  for (const recipe of Object.values(raw.recipes)) {
    if (!isObject(recipe) || typeof recipe.vm !== 'string' || !localVms.has(recipe.vm)) continue;
    for (const key of ['dataset', 'path']) {
      if (typeof recipe[key] === 'string') recipe[key] = absolute(recipe[key], options.baseDir);
    }
  }
}

function absolute(filePath: string, baseDir: string): string {
  return filePath.startsWith('~') || path.isAbsolute(filePath) ? filePath : path.resolve(baseDir, filePath);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
