import type { Config } from '../config/schema.js';

/**
 * Reads a reference to a person as typed after `owner` or `/oncall set`: a Slack
 * mention (`<@U012ABC>`, or `<@U012ABC|li.na>` from a slash command with
 * `should_escape`), `@U012ABC`, a team member's display name with or without `@`
 * (`@演示用户`), or `me` / `我`. Returns the Slack user id, or undefined when the text
 * names nobody. A mention or a bare user id is returned even when the person is not in
 * `team.members`, so callers can say who is missing; a display name only matches members.
 */
export function readMemberRef(value: string, config: Config, selfId: string): string | undefined {
  if (/^(?:me|我|自己)$/iu.test(value)) return selfId;

  const mention = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$/u.exec(value);
  if (mention) return mention[1];

  const name = value.replace(/^[@＠]/u, '').toLowerCase();
  const member = config.team.members.find((candidate) => candidate.name.toLowerCase() === name || candidate.id.toLowerCase() === name);
  if (member) return member.id;

  return /^@?([UW][A-Z0-9]{2,})$/u.exec(value)?.[1];
}
