import { readFileSync } from 'node:fs';

import { parse } from 'yaml';

import { ConfigError, createLineLocator, loadConfigFile, type LoadOptions, type LocatedUnknownKey } from './config/load.js';
import { findSecretKeys, type SecretKey } from './config/secret-keys.js';
import { describeUnknownKey } from './config/unknown-keys.js';
import { secretScrubber } from './logging.js';

/**
 * `trainops check-config [--strict] [path]`: validates a config file without starting
 * anything, and reports `OK: N VMs, M recipes` or every problem, sorted by line. Placeholder host keys
 * copied from the example config (`SHA256:REPLACE…`) pass the schema but make every SSH
 * connection fail, so they are reported as warnings. Secret keys written into the file
 * and keys the schema does not define are warnings too, because the bot ignores them.
 * Warnings leave the exit code at 0 unless `--strict` makes them errors.
 */
export interface ConfigCheck {
  /** False when the file cannot be used (the exit code is then 1). */
  readonly ok: boolean;
  /** Lines for stdout: the OK summary. */
  readonly report: string[];
  /** Lines for stderr: problems and warnings. */
  readonly problems: string[];
}

/** Host keys that look copied from the example config rather than from `ssh-keygen -lf`. */
const PLACEHOLDER_HOST_KEY = /REPLACE|x{6,}|X{6,}/;

/** Prefix of warning lines, which `--strict` replaces with `error: `. */
const WARNING = 'warning: ';

export interface CheckOptions extends LoadOptions {
  /** When true, the check fails on warnings and prints them as `error:` lines. */
  strict?: boolean;
  /**
   * Secret values from the environment. The config file should contain none, but a person may
   * paste one into a field that a message quotes, so every output line is scrubbed of them.
   */
  secrets?: readonly string[];
}

/** Arguments of `trainops check-config`, or the usage error they contain. */
export type CheckConfigArgs = { ok: true; path?: string; strict: boolean } | { ok: false; message: string };

/** Parses the arguments after `check-config`: an optional `--strict` and at most one path. */
export function parseCheckConfigArgs(args: readonly string[]): CheckConfigArgs {
  let strict = false;
  const paths: string[] = [];
  for (const arg of args) {
    if (arg === '--strict') strict = true;
    else if (arg.startsWith('-')) return { ok: false, message: `unknown option "${arg}" for check-config; the only option is --strict` };
    else paths.push(arg);
  }
  if (paths.length > 1) return { ok: false, message: `check-config takes one config path, got ${paths.length}: ${paths.join(' ')}` };
  return paths[0] === undefined ? { ok: true, strict } : { ok: true, path: paths[0], strict };
}

export function checkConfigFile(path: string, options: CheckOptions = {}): ConfigCheck {
  const check = checkConfig(path, options);
  const scrub = secretScrubber(options.secrets ?? []);
  const strict = options.strict === true && check.problems.some(isWarning);
  if (!strict) return { ok: check.ok, report: check.report.map(scrub), problems: check.problems.map(scrub) };

  // --strict: the same lines, with every warning promoted to an error that fails the check.
  const problems = check.problems.map((line) => (isWarning(line) ? `error: ${line.slice(WARNING.length)}` : line));
  return { ok: false, report: [], problems: problems.map(scrub) };
}

function isWarning(line: string): boolean {
  return line.startsWith(WARNING);
}

/** A warning line and the line of the file it is about, which orders the output. `line` is undefined when the file lacks the path. */
interface Warning {
  readonly line: number | undefined;
  readonly text: string;
}

type Locate = (path: readonly PropertyKey[]) => number | undefined;

function checkConfig(path: string, options: LoadOptions): ConfigCheck {
  const { secretKeys, locate } = readFileForWarnings(path);
  let loaded;
  try {
    loaded = loadConfigFile(path, options);
  } catch (error) {
    if (error instanceof ConfigError) {
      const warnings = [...secretKeyWarnings(secretKeys, locate), ...unknownKeyWarnings(error.unknownKeys, secretKeys)];
      return { ok: false, report: [], problems: [...error.message.split('\n'), ...sortByLine(warnings)] };
    }
    throw error;
  }

  const { config } = loaded;
  const warnings = [...secretKeyWarnings(secretKeys, locate), ...unknownKeyWarnings(loaded.unknownKeys, secretKeys)];
  for (const [name, vm] of Object.entries(config.vms)) {
    if (vm.ssh && PLACEHOLDER_HOST_KEY.test(vm.ssh.hostKey)) {
      const keyPath = ['vms', name, 'ssh', 'hostKey'];
      const text = `vms.${name}.ssh.hostKey ${vm.ssh.hostKey} looks like a placeholder; put the VM's fingerprint there (run ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the VM)`;
      warnings.push(located(text, locate(keyPath)));
    }
    if (vm.azure && /^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(vm.azure.subscriptionId)) {
      const keyPath = ['vms', name, 'azure', 'subscriptionId'];
      warnings.push(located(`vms.${name}.azure.subscriptionId is the all-zero placeholder; put the Azure subscription id there`, locate(keyPath)));
    }
  }

  const vmCount = Object.keys(config.vms).length;
  const recipeCount = Object.keys(config.recipes).length;
  const warningNote = warnings.length > 0 ? ` (${plural(warnings.length, 'warning')})` : '';
  const summary = `OK: ${plural(vmCount, 'VM')}, ${plural(recipeCount, 'recipe')}${warningNote}`;
  return { ok: true, report: [summary], problems: sortByLine(warnings) };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Builds a warning line that ends in ` (line N)` where the line is known. */
function located(text: string, line: number | undefined): Warning {
  return { line, text: `${WARNING}${text}${line === undefined ? '' : ` (line ${line})`}` };
}

/** Orders warnings by line; those without a line keep their order and come first. */
function sortByLine(warnings: readonly Warning[]): string[] {
  return [...warnings].sort((a, b) => (a.line ?? 0) - (b.line ?? 0)).map((warning) => warning.text);
}

/** Reads the file's secret keys and a line locator; both are empty when the file cannot be read or parsed. */
function readFileForWarnings(path: string): { secretKeys: SecretKey[]; locate: Locate } {
  let text: string;
  let data: unknown;
  try {
    text = readFileSync(path, 'utf8');
    data = parse(text);
  } catch {
    // loadConfigFile reports an unreadable file or invalid YAML.
    return { secretKeys: [], locate: () => undefined };
  }
  return { secretKeys: findSecretKeys(data), locate: createLineLocator(text) };
}

/** Warns about each secret key in the file and names the variable to use. The value is never printed. */
function secretKeyWarnings(secretKeys: readonly SecretKey[], locate: Locate): Warning[] {
  return secretKeys.map((key) =>
    located(`${key.path} is ignored because secrets are read only from the environment; set ${key.variable} there and delete ${key.path} from the file`, locate(key.segments)),
  );
}

/** Warns about each key the schema does not define, except secret keys, which have their own warning. */
function unknownKeyWarnings(unknownKeys: readonly LocatedUnknownKey[], secretKeys: readonly SecretKey[]): Warning[] {
  const secretPaths = new Set(secretKeys.map((key) => key.path));
  return unknownKeys
    .filter((key) => !secretPaths.has(key.path.join('.')))
    .map((key) => ({ line: key.line, text: `${WARNING}${describeUnknownKey(key, key.line)}` }));
}
