import type { z } from 'zod';

import { suggestName } from './suggest.js';

/**
 * Rewrites zod's issue texts for people editing the config file. zod's own texts leave
 * out the value that was written ("Invalid option: expected one of …") and call a missing
 * section "expected object, received undefined". The issues must come from a parse with
 * `reportInput: true`, which puts the rejected value on each issue.
 */
export function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return describeInvalidValue(issue.input, issue.values);
    case 'invalid_union': {
      // A discriminated union (recipes by `kind`) that finds no option for the discriminator's value.
      if (issue.discriminator === undefined || !isObject(issue.input)) return issue.message;
      const options = 'options' in issue ? (issue.options ?? []) : [];
      const value = issue.input[issue.discriminator];
      if (value === undefined) return `missing; set ${issue.discriminator} to one of: ${options.map(String).join(', ')}`;
      return describeInvalidValue(value, options);
    }
    case 'invalid_type':
      if ('input' in issue && issue.input === undefined) return describeMissing(issue.path, issue.expected);
      return issue.message;
    case 'invalid_key':
      // zod reports a record key that fails its schema as "Invalid key in record" and keeps the reason in the nested issues.
      if (issue.issues.length > 0) return `invalid name: ${issue.issues.map((inner) => inner.message).join('; ')}`;
      return issue.message;
    default:
      return issue.message;
  }
}

function describeInvalidValue(input: unknown, values: readonly unknown[]): string {
  const written = JSON.stringify(input) ?? String(input);
  const choices = values.map(String);
  if (choices.length === 1) return `invalid value ${written}; expected ${choices[0]}`;

  const suggestion = typeof input === 'string' ? suggestName(input, choices) : undefined;
  const hint = suggestion === undefined ? '' : `; did you mean ${suggestion}?`;
  return `invalid value ${written}, expected one of: ${choices.join(', ')}${hint}`;
}

function describeMissing(path: readonly PropertyKey[], expected: string): string {
  const section = path.length === 1 && (expected === 'object' || expected === 'record');
  if (section) return `section missing; add a ${String(path[0])}: section (config/trainops.example.yaml shows one)`;
  return `missing; expected ${expected === 'array' ? 'a list' : `a value of type ${expected}`}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
