import type { OverrideSpec } from '../config/schema.js';
import type { OverrideValue } from '../jobs/run-types.js';
import { parseError, type ParseError } from './parse-error.js';
import { suggestName } from '../config/suggest.js';

/**
 * Command-line overrides such as `lr=1e-4 epochs=2`, checked against the recipe's
 * declared specs (type, range, allowed values). The result maps override names as the
 * recipe declares them (`lr`) to typed values; run.json writes each to its spec's
 * `field` (`learning_rate`). No value ever reaches a shell.
 */
export type OverrideMap = Record<string, OverrideValue>;

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

export function isAssignment(token: string): boolean {
  return ASSIGNMENT.test(token);
}

/** Parses `name=value` tokens into typed values by override name; returns the first problem as a ParseError. */
export function parseOverrides(tokens: readonly string[], specs: Readonly<Record<string, OverrideSpec>>): OverrideMap | ParseError {
  const result: OverrideMap = {};
  const seen = new Set<string>();
  const allowed = Object.keys(specs);

  for (const token of tokens) {
    const match = ASSIGNMENT.exec(token);
    if (!match) return parseError('core.error.override_syntax', { token: truncate(token) });
    const name = match[1]!.toLowerCase();
    const raw = match[2]!;

    const spec = specs[name];
    if (spec === undefined) {
      return parseError(allowed.length > 0 ? 'core.error.override_unknown' : 'core.error.override_none', {
        name: truncate(name),
        allowed: allowed.join(', '),
        suggestion: suggestName(name, allowed) ?? '',
      });
    }
    if (seen.has(name)) return parseError('core.error.override_duplicate', { name });
    seen.add(name);
    if (raw.trim().length === 0) return parseError('core.error.override_missing_value', { name, example: `${name}=${exampleValue(spec)}` });

    const value = parseValue(name, raw, spec);
    if (typeof value === 'object') return value;
    result[name] = value;
  }
  return result;
}

function parseValue(name: string, raw: string, spec: OverrideSpec): OverrideValue | ParseError {
  const displayed = truncate(raw);
  switch (spec.type) {
    case 'number':
    case 'integer': {
      const pattern = spec.type === 'integer' ? INTEGER : NUMBER;
      const value = Number(raw);
      if (!pattern.test(raw) || !Number.isFinite(value)) {
        return parseError(spec.type === 'integer' ? 'core.error.override_not_integer' : 'core.error.override_not_number', {
          name,
          value: displayed,
        });
      }
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
        return parseError('core.error.override_range', { name, value: displayed, min: spec.min ?? '-∞', max: spec.max ?? '∞' });
      }
      return value;
    }
    case 'boolean': {
      const lower = raw.toLowerCase();
      if (['true', 'yes', '1', 'on', '是'].includes(lower)) return true;
      if (['false', 'no', '0', 'off', '否'].includes(lower)) return false;
      return parseError('core.error.override_not_boolean', { name, value: displayed });
    }
    case 'enum': {
      const values = spec.values ?? [];
      if (!values.includes(raw)) return parseError('core.error.override_enum', { name, value: displayed, allowed: values.join(', ') });
      return raw;
    }
    case 'string': {
      if (raw.length === 0 || raw.length > spec.maxLength || /[\n\r]/.test(raw)) {
        return parseError('core.error.override_string', { name, max: spec.maxLength });
      }
      return raw;
    }
  }
}

/** Returns a value the spec accepts, for the `lr=1e-4` example in the missing-value error. */
function exampleValue(spec: OverrideSpec): string {
  switch (spec.type) {
    case 'number': {
      const inRange = (value: number) => (spec.min === undefined || value >= spec.min) && (spec.max === undefined || value <= spec.max);
      const candidate = [1e-4, 1, spec.min ?? 0].find(inRange) ?? spec.min ?? 0;
      return candidate === 1e-4 ? '1e-4' : String(candidate);
    }
    case 'integer':
      return String(spec.min !== undefined && spec.min > 1 ? spec.min : 1);
    case 'boolean':
      return 'true';
    case 'enum':
      return spec.values?.[0] ?? '';
    case 'string':
      return 'text';
  }
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
