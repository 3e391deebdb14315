/**
 * Undoes Slack's escaping of message and slash-command text, in which a person's `&`,
 * `<` and `>` arrive as `&amp;`, `&lt;` and `&gt;` (Slack's "Formatting text" guide).
 * Mentions such as `<@U123|name>` arrive unescaped and pass through unchanged.
 */
export function decodeSlackEscapes(text: string): string {
  // &amp; last, so an escaped "&lt;" typed by a person ("&amp;lt;") stays "&lt;".
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
