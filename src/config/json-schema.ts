import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { z } from 'zod';

import { configSchema } from './schema.js';

/**
 * Generates `config/trainops.schema.json` from the zod schema, so editors (the YAML
 * language server reads `# yaml-language-server: $schema=...`) check the config as it
 * is typed. Run with `npx tsx src/config/json-schema.ts`; a test keeps the file current.
 */
export function buildJsonSchema(): Record<string, unknown> {
  // `input` describes what a person writes: fields with defaults are optional there.
  const schema = z.toJSONSchema(configSchema, {
    io: 'input',
    unrepresentable: 'any',
    // zod writes `additionalProperties: false` for a stripping object only in output mode.
    // The loader ignores unknown keys and warns about them, so editors flag them as well.
    override: ({ zodSchema, jsonSchema }) => {
      const def = zodSchema._zod.def;
      if (def.type === 'object' && (def as z.core.$ZodObjectDef).catchall === undefined) jsonSchema.additionalProperties = false;
    },
  }) as Record<string, unknown>;
  return { ...schema, title: 'TrainOps configuration' };
}

export function renderJsonSchema(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const target = new URL('../../config/trainops.schema.json', import.meta.url);
  writeFileSync(target, renderJsonSchema());
  console.log(`wrote ${fileURLToPath(target)}`);
}
