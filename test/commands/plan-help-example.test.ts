import { describe, expect, it } from 'vitest';

import { translate } from '../../src/bot/i18n.js';
import type { ParseContext } from '../../src/commands/context.js';
import { exampleNames } from '../../src/commands/examples.js';
import { isParseError } from '../../src/commands/parse-error.js';
import { parsePlan } from '../../src/commands/plan-parse.js';
import { loadConfig } from '../../src/config/load.js';

const config = loadConfig('config/trainops.example.yaml');

/** Returns the `/plan add` example of the plan help, without `/plan `. */
function helpExample(locale: 'zh-CN' | 'en'): string {
  const help = translate(locale, 'plan.help', { ...exampleNames(config) });
  const example = /`\/plan (add [^`]+)`\s*$/.exec(help)?.[1];
  if (example === undefined) throw new Error(`no /plan add example at the end of: ${help}`);
  return example;
}

// Monday 7 to Sunday 13 December 2026, 20:00 in Shanghai: after the 18:00 due hour.
const evenings = [7, 8, 9, 10, 11, 12, 13].map((day) => new Date(`2026-12-${String(day).padStart(2, '0')}T20:00:00+08:00`));

describe('plan help example', () => {
  it.each(['zh-CN', 'en'] as const)('parses on every weekday in %s', (locale) => {
    const example = helpExample(locale);
    for (const now of evenings) {
      const ctx: ParseContext = { config, userId: 'U01LINA', channel: 'CPLAN', locale, now };
      const command = parsePlan(example, ctx);
      expect(isParseError(command), `${example} on ${now.toISOString()}: ${JSON.stringify(command)}`).toBe(false);
      expect(command).toMatchObject({ action: 'add' });
    }
  });
});
