import { parseError, type ParseError } from './parse-error.js';

/**
 * Splits command text into words the way the team types them: whitespace (including
 * the ideographic space) separates words, `"…"`, `'…'`, `“…”`, `‘…’` and `「…」` group
 * them, full-width `＝ ＃ ， ；` read as their ASCII forms, Chinese commas and
 * semicolons separate words, and `在` reads as `on`, also when typed without spaces
 * (`medical-phi4在yanshiyiliao`) but not inside a Chinese word (`现在`). Pure: bad input
 * yields a ParseError, never a throw.
 */
export const MAX_COMMAND_LENGTH = 2000;

const QUOTES: Readonly<Record<string, string>> = { '"': '"', "'": "'", '“': '”', '‘': '’', '「': '」', '『': '』' };
const FULL_WIDTH: Readonly<Record<string, string>> = { '＝': '=', '＃': '#', '：': ':', '（': '(', '）': ')' };
const SEPARATORS = new Set(['，', '、', '；', ',', ';', '。']);

export function tokenize(text: string): string[] | ParseError {
  if (text.length > MAX_COMMAND_LENGTH) {
    return parseError('core.error.too_long', { max: MAX_COMMAND_LENGTH, length: text.length });
  }
  // Control characters other than tab and newline have no place in a command and could
  // hide text in logs or terminals.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) {
    return parseError('core.error.control_character');
  }

  const tokens: string[] = [];
  let current = '';
  let quoted = false;
  let closing: string | undefined;

  const finish = (): void => {
    if (current.length > 0 || quoted) tokens.push(current);
    current = '';
    quoted = false;
  };

  for (const char of text.normalize('NFC')) {
    if (closing !== undefined) {
      if (char === closing) closing = undefined;
      else current += char;
      continue;
    }
    if (QUOTES[char] !== undefined) {
      closing = QUOTES[char];
      quoted = true;
      continue;
    }
    if (/\s/u.test(char) || SEPARATORS.has(char)) {
      finish();
      continue;
    }
    // `在` inside Chinese words (现在) stays; next to a name or alone it is `on`.
    if (char === '在' && !/[^\x00-\x7f]$/.test(current)) {
      finish();
      tokens.push('on');
      continue;
    }
    current += FULL_WIDTH[char] ?? char;
  }

  if (closing !== undefined) {
    return parseError('core.error.unterminated_quote', { quote: closing });
  }
  finish();
  return tokens;
}
