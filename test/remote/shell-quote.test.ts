import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { ShellQuoteError, quoteArg, quoteCommand } from '../../src/remote/shell-quote.js';

const CASES: ReadonlyArray<[name: string, arg: string]> = [
  ['plain word', 'train'],
  ['empty string', ''],
  ['space', 'two words'],
  ['single quote', "it's"],
  ['only quotes', "'''"],
  ['double quote', 'say "hi"'],
  ['semicolon', 'x; touch /tmp/canary'],
  ['command substitution', '$(touch /tmp/canary)'],
  ['backticks', '`touch /tmp/canary`'],
  ['variable', '$HOME ${PATH}'],
  ['newline', 'line1\nline2; touch /tmp/canary'],
  ['tab and carriage return', 'a\tb\rc'],
  ['backslashes', 'a\\b\\\\c\\'],
  ['glob', '*.py ?[ab]'],
  ['tilde', '~/trainops'],
  ['brace expansion', '{a,b}'],
  ['leading equals', '=ls'],
  ['redirections', '> out < in 2>&1 | cat &'],
  ['history and comment', '!! # not a comment'],
  ['dash option', '--learning_rate=1e-4'],
  ['non-ASCII', '训练助手 医疗 — ünïcødé 🚀'],
  ['long text', `${"a'b ".repeat(8_000)}end`],
];

const SHELLS = ['/bin/sh', '/bin/bash', '/bin/dash', '/usr/bin/zsh'].filter((shell) => existsSync(shell));

/** Runs the quoted command in a real shell and returns the arguments printf received. */
function roundTrip(shell: string, args: readonly string[]): string[] {
  const output = execFileSync(shell, ['-c', quoteCommand(['printf', '%s\\0', ...args])], { maxBuffer: 16 * 1024 * 1024 });
  const parts = output.toString('utf8').split('\0');
  parts.pop();
  return parts;
}

describe('quoteCommand', () => {
  for (const shell of SHELLS) {
    it.each(CASES)(`${shell} round-trips %s`, (_name, arg) => {
      expect(roundTrip(shell, [arg])).toEqual([arg]);
    });
  }

  it('keeps argument boundaries', () => {
    const args = CASES.map(([, arg]) => arg).filter((arg) => arg.length < 1000);
    expect(roundTrip('/bin/sh', args)).toEqual(args);
  });

  it('leaves safe words bare', () => {
    expect(quoteCommand(['python3', '-m', 'trainops_trainer', '--config', '/home/u/run.json'])).toBe(
      'python3 -m trainops_trainer --config /home/u/run.json',
    );
  });

  it('escapes single quotes', () => {
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
  });

  it('quotes the empty string', () => {
    expect(quoteArg('')).toBe("''");
  });

  it('rejects NUL bytes', () => {
    expect(() => quoteCommand(['echo', 'a\0b'])).toThrow(ShellQuoteError);
  });

  it('rejects empty argv', () => {
    expect(() => quoteCommand([])).toThrow(RangeError);
  });
});
