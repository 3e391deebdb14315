import { readFileSync } from 'node:fs';
import path from 'node:path';

import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import type { z } from 'zod';

import { describeIssue } from './issue-messages.js';
import { configSchema, type Config } from './schema.js';
import { findUnknownKeys, type UnknownKey } from './unknown-keys.js';

/**
 * Loading the YAML config: parse, fill local defaults, validate with zod, and hand out
 * a deeply frozen `Config`. Every problem is reported at once, schema errors and
 * dangling references alike, one `path: message (line N)` line each, so a person fixes
 * the file in one pass. Keys the schema does not define are not problems, because the
 * file still works without them, but they are returned so callers can warn about them.
 */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
    /** Keys the schema does not define, found in the same pass. It is empty when the YAML itself is invalid. */
    readonly unknownKeys: readonly LocatedUnknownKey[] = [],
  ) {
    super(`Invalid config ${source}:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** An unknown key with the 1-based line of the key in the file. */
export interface LocatedUnknownKey extends UnknownKey {
  readonly line?: number;
}

/** A valid config with the keys of the file that it ignores. */
export interface LoadedConfig {
  readonly config: Config;
  readonly unknownKeys: readonly LocatedUnknownKey[];
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
  return loadConfigFile(path, options).config;
}

/** Reads and validates the config file at `path` like `loadConfig`, and also returns the keys it ignores. */
export function loadConfigFile(path: string, options: LoadOptions = {}): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError(path, [
      `${reason}; set TRAINOPS_CONFIG or copy config/trainops.example.yaml to config/trainops.yaml`,
    ]);
  }
  return parseConfigText(text, path, options);
}

/** Validates config text; `source` names it in errors. Pure apart from the thrown ConfigError. */
export function parseConfig(text: string, source: string, options: LoadOptions = {}): Config {
  return parseConfigText(text, source, options).config;
}

/** Validates config text like `parseConfig`, and also returns the keys the schema does not define. */
export function parseConfigText(text: string, source: string, options: LoadOptions = {}): LoadedConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: true, lineCounter });
  if (document.errors.length > 0) {
    // Later syntax errors mostly follow from the first (a tab breaks every line after it), so only the first is shown.
    throw new ConfigError(source, document.errors.slice(0, 1).map(describeYamlError));
  }

  const raw: unknown = document.toJS();
  applyLocalDefaults(raw, options);
  const locate = (path: readonly PropertyKey[]): number | undefined => lineOf(document, lineCounter, path);
  const unknownKeys = findUnknownKeys(configSchema, raw).map((key) => ({ ...key, line: locate(key.path) }));

  // The schema's own checks and the cross-reference checks both run in this one parse.
  // reportInput puts the rejected value on each issue, which the messages quote.
  const result = configSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(source, formatIssues(result.error.issues, locate), unknownKeys);
  }
  return { config: deepFreeze(result.data), unknownKeys };
}

/**
 * Renders zod issues as `path: message (line N)` lines, sorted by line and then by path.
 * `locate` gives the line of a path in the file. Where it returns undefined (a missing
 * section) the suffix is left out and the line comes first.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], locate: (path: readonly PropertyKey[]) => number | undefined = () => undefined): string[] {
  const located = issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    const line = locate(issue.path);
    return { line: line ?? 0, text: `${path}: ${describeIssue(issue)}${line === undefined ? '' : ` (line ${line})`}` };
  });
  located.sort(byLineThenText);
  return [...new Set(located.map((entry) => entry.text))];
}

/**
 * Renders a YAML syntax error as one line. With `prettyErrors` the library appends
 * ` at line L, column C:` and a source excerpt to the message, so both are cut and the
 * position is stated once in front.
 */
function describeYamlError(error: YAMLError): string {
  const message = error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? error.message;
  const fix = error.code === 'TAB_AS_INDENT' ? '; indent with spaces' : '';
  if (!error.linePos) return `YAML: ${message}${fix}`;
  const [start] = error.linePos;
  return `YAML line ${start.line}, column ${start.col}: ${message}${fix}`;
}

/** Returns a function that gives the 1-based line of a path in the YAML `text`, for messages about its keys. */
export function createLineLocator(text: string): (path: readonly PropertyKey[]) => number | undefined {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  return (path) => lineOf(document, lineCounter, path);
}

/**
 * Returns the 1-based line of the deepest node of `path` that the document contains: a
 * map entry's key or a list item. A missing key therefore points at the entry that lacks it.
 */
function lineOf(document: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  let node: unknown = document.contents;
  let offset: number | undefined;

  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair || !isScalar(pair.key) || !pair.key.range) break;
      offset = pair.key.range[0];
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (!isScalar(item) && !isMap(item) && !isSeq(item)) break;
      if (!item.range) break;
      offset = item.range[0];
      node = item;
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
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

/** Orders problems by line, then by text, so problems on one line come out in a stable order. */
function byLineThenText(a: { line: number; text: string }, b: { line: number; text: string }): number {
  if (a.line !== b.line) return a.line - b.line;
  if (a.text === b.text) return 0;
  return a.text < b.text ? -1 : 1;
}
