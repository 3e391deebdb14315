import type { Logger } from 'pino';
import { z } from 'zod';

import { suggestName } from './suggest.js';

/**
 * A key in the YAML data that the schema does not define. A zod object strips such keys
 * without an issue, so a typo like `autostop:` under a VM would leave the default in
 * force without a word. Free-form maps (`z.record`, such as a recipe's
 * `hyperparameters` or the `vms` names) have no fixed keys, so nothing in them is
 * unknown, but the objects they contain are checked.
 *
 * zod 4.6 reports unknown keys (`unrecognized_keys`) only for an object built strict,
 * and it exports no way to make a whole schema tree strict (its tree rewriter
 * `core/visit.ts` is internal). Walking the schema beside the data finds the same keys
 * in one pass, and it also yields the keys known at each place for the suggestions.
 */
export interface UnknownKey {
  /** Path of the unknown key itself, such as `['vms', 'gpu1', 'autostop']`. */
  readonly path: readonly (string | number)[];
  /** The known key at the same place closest to the unknown one, if one is close. */
  readonly suggestion?: string;
}

/** Lists the keys of `data` that `schema` does not define, in the order of the data. */
export function findUnknownKeys(schema: z.core.$ZodType, data: unknown): UnknownKey[] {
  const found: UnknownKey[] = [];
  walk(schema, data, [], found);
  return found;
}

/** Renders one unknown key as a sentence ending in its line, such as `vms.gpu1.autostop is … (line 12)`. */
export function describeUnknownKey(key: UnknownKey, line?: number): string {
  const hint = key.suggestion === undefined ? '; delete it or check its spelling' : `; did you mean ${key.suggestion}?`;
  return `${key.path.map(String).join('.')} is not a known key, so it is ignored${hint}${line === undefined ? '' : ` (line ${line})`}`;
}

function walk(schema: z.core.$ZodType, data: unknown, path: (string | number)[], found: UnknownKey[]): void {
  const def = schema._zod.def;

  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional': {
      // Wrappers only change what an absent or null value becomes, so a present value is checked against the inner type.
      if (data !== undefined && data !== null) walk((def as z.core.$ZodOptionalDef).innerType, data, path, found);
      return;
    }
    case 'pipe': {
      // The file's data goes in, so the input side decides. z.preprocess puts a transform
      // there, which defines no keys, so the schema after it decides instead.
      const pipe = def as z.core.$ZodPipeDef;
      walk(pipe.in._zod.def.type === 'transform' ? pipe.out : pipe.in, data, path, found);
      return;
    }
    case 'lazy': {
      walk((def as z.core.$ZodLazyDef).getter(), data, path, found);
      return;
    }
    case 'object': {
      walkObject(def as z.core.$ZodObjectDef, data, path, found);
      return;
    }
    case 'record': {
      if (!isPlainObject(data)) return;
      const valueType = (def as z.core.$ZodRecordDef).valueType;
      for (const [key, value] of Object.entries(data)) walk(valueType, value, [...path, key], found);
      return;
    }
    case 'array': {
      if (!Array.isArray(data)) return;
      const element = (def as z.core.$ZodArrayDef).element;
      data.forEach((item: unknown, index) => walk(element, item, [...path, index], found));
      return;
    }
    case 'union': {
      const unionDef = def as z.core.$ZodUnionDef | z.core.$ZodDiscriminatedUnionDef;
      const option = pickUnionOption(unionDef, data);
      if (option) walk(option, data, path, found);
      else findKeysOfNoOption(unionDef.options, data, path, found);
      return;
    }
    default:
      // Leaves (strings, numbers, enums…) have no keys. NOTE: intersections, tuples, maps
      // and sets are not walked, because the config schema has none. Add them here when it does.
      return;
  }
}

function walkObject(def: z.core.$ZodObjectDef, data: unknown, path: (string | number)[], found: UnknownKey[]): void {
  if (!isPlainObject(data)) return;
  const known = Object.keys(def.shape);

  for (const [key, value] of Object.entries(data)) {
    const field = def.shape[key];
    if (field) {
      walk(field, value, [...path, key], found);
    } else if (def.catchall === undefined) {
      // The default (strip) mode: zod drops the key silently.
      const suggestion = suggestName(key, known);
      found.push({ path: [...path, key], ...(suggestion === undefined ? {} : { suggestion }) });
    } else if (def.catchall._zod.def.type !== 'never') {
      // A catchall (passthrough or typed) accepts extra keys, so only their values are checked.
      walk(def.catchall, value, [...path, key], found);
    }
    // A strict object (catchall never) already fails the parse with unrecognized_keys.
  }
}

/**
 * Lists the keys that no option of a union of objects defines, when no option applies.
 * The parse fails then, and a misspelt discriminator (`kidn: train`) is often the cause.
 */
function findKeysOfNoOption(options: readonly z.core.$ZodType[], data: unknown, path: (string | number)[], found: UnknownKey[]): void {
  if (!isPlainObject(data)) return;
  const shapes = options.map((option) => option._zod.def).filter((def): def is z.core.$ZodObjectDef => def.type === 'object');
  if (shapes.length !== options.length || shapes.some((shape) => shape.catchall !== undefined)) return;

  const known = [...new Set(shapes.flatMap((shape) => Object.keys(shape.shape)))];
  for (const key of Object.keys(data)) {
    if (known.includes(key)) continue;
    const suggestion = suggestName(key, known);
    found.push({ path: [...path, key], ...(suggestion === undefined ? {} : { suggestion }) });
  }
}

/**
 * Chooses the union option that applies to `data`, as zod does. A discriminated union
 * picks it by the discriminator, so a recipe with `kind: deploy` is checked against the
 * deploy fields even while another of its fields is invalid. A plain union picks the
 * first option that accepts the data. Returns undefined when no option applies, because
 * the parse then reports the value as invalid already.
 */
function pickUnionOption(def: z.core.$ZodUnionDef | z.core.$ZodDiscriminatedUnionDef, data: unknown): z.core.$ZodType | undefined {
  const discriminator = 'discriminator' in def ? def.discriminator : undefined;
  if (discriminator !== undefined) {
    if (!isPlainObject(data)) return undefined;
    const value = data[discriminator];
    return def.options.find((option) => option._zod.propValues?.[discriminator]?.has(value as never));
  }
  return def.options.find((option) => z.safeParse(option, data).success);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Logs one warning per unknown key, for a service that starts anyway. `line` is the key's line in the file. */
export function logUnknownKeys(logger: Pick<Logger, 'warn'>, keys: readonly (UnknownKey & { readonly line?: number })[]): void {
  for (const key of keys) {
    const fields = { key: key.path.map(String).join('.'), line: key.line, suggestion: key.suggestion };
    logger.warn(fields, `config: ${describeUnknownKey(key, key.line)}`);
  }
}
