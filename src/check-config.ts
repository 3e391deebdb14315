import { readFileSync } from 'node:fs';

import { parse } from 'yaml';

import { ConfigError, loadConfig, type LoadOptions } from './config/load.js';
import { findSecretKeys } from './config/secret-keys.js';
import { secretScrubber } from './logging.js';

/**
 * `trainops check-config [path]`: validates a config file without starting anything,
 * and reports `OK: N VMs, M recipes` or every problem. Placeholder host keys copied
 * from the example config (`SHA256:REPLACE…`) pass the schema but make every SSH
 * connection fail, so they are reported as warnings, and so are secret keys written
 * into the file, which the bot ignores.
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

export interface CheckOptions extends LoadOptions {
  /**
   * Secret values from the environment. The config file should contain none, but a person may
   * paste one into a field that a message quotes, so every output line is scrubbed of them.
   */
  secrets?: readonly string[];
}

export function checkConfigFile(path: string, options: CheckOptions = {}): ConfigCheck {
  const check = checkConfig(path, options);
  const scrub = secretScrubber(options.secrets ?? []);
  return { ok: check.ok, report: check.report.map(scrub), problems: check.problems.map(scrub) };
}

function checkConfig(path: string, options: LoadOptions): ConfigCheck {
  let config;
  try {
    config = loadConfig(path, options);
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, report: [], problems: [...error.message.split('\n'), ...secretKeyWarnings(path)] };
    throw error;
  }

  const warnings = secretKeyWarnings(path);
  for (const [name, vm] of Object.entries(config.vms)) {
    if (vm.ssh && PLACEHOLDER_HOST_KEY.test(vm.ssh.hostKey)) {
      warnings.push(
        `warning: vms.${name}.ssh.hostKey ${vm.ssh.hostKey} looks like a placeholder; put the VM's fingerprint there (run ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the VM)`,
      );
    }
    if (vm.azure && /^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(vm.azure.subscriptionId)) {
      warnings.push(`warning: vms.${name}.azure.subscriptionId is the all-zero placeholder; put the Azure subscription id there`);
    }
  }
  const vmCount = Object.keys(config.vms).length;
  const recipeCount = Object.keys(config.recipes).length;
  const summary = `OK: ${vmCount} VMs, ${recipeCount} recipes${warnings.length > 0 ? ` (${warnings.length} warnings)` : ''}`;
  return { ok: true, report: [summary], problems: warnings };
}

/** Warns about each secret key in the file and names the variable to use. The value is never printed. */
function secretKeyWarnings(path: string): string[] {
  let data: unknown;
  try {
    data = parse(readFileSync(path, 'utf8'));
  } catch {
    // loadConfig has already reported an unreadable file or invalid YAML.
    return [];
  }
  return findSecretKeys(data).map(
    (key) => `warning: ${key.path} is ignored because secrets are read only from the environment; set ${key.variable} there and delete ${key.path} from the file`,
  );
}
