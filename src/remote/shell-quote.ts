/**
 * Quotes an argument list into one POSIX shell command string.
 *
 * SSH runs a command as one string through the login shell, and node-ssh's
 * `execCommand` takes exactly that string. node-ssh bundles `shell-escape` 0.2, which
 * turns an empty argument into nothing at all (its cleanup regex strips a leading
 * `''`) and does not reject NUL. So the quoting is written here, where the rule fits in
 * a few lines and a table of tests:
 *
 * Inside single quotes POSIX sh gives every character its literal value
 * and nothing ends the quoting except the next `'`. So `'` + text + `'` is literal
 * for any text without `'`, and a `'` itself is written as `'\''` (close, escaped
 * quote, reopen). No expansion, substitution, newline or glob survives. NUL is the one
 * byte no shell word or C string can carry, so it is rejected instead.
 *
 * sshd hands the string to the login shell as one `-c` argument, and Linux limits one
 * argument to 128 KiB (MAX_ARG_STRLEN), so large data belongs in stdin or a file.
 *
 * NOTE: this assumes the VM user's login shell is POSIX-like (sh, dash, bash, zsh).
 * fish treats `\\` inside single quotes as an escape and would alter backslashes.
 */

/** Words made only of these characters read the same quoted or not, so they stay bare for readable logs. */
const BARE_WORD = /^[A-Za-z0-9_\/.,:@%+-][A-Za-z0-9_\/.,:@%+=-]*$/;

export class ShellQuoteError extends Error {
  readonly code = 'SHELL_QUOTE_NUL';

  constructor(index: number) {
    super(`argument ${index} contains a NUL byte, which no shell command can carry`);
    this.name = 'ShellQuoteError';
  }
}

/** Quotes one argument so the shell passes it to the command unchanged. */
export function quoteArg(arg: string, index = 0): string {
  if (arg.includes('\0')) throw new ShellQuoteError(index);
  if (BARE_WORD.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Joins argv into a command string that the shell splits back into exactly argv. */
export function quoteCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new RangeError('argv must name a command');
  return argv.map((arg, index) => quoteArg(arg, index)).join(' ');
}
