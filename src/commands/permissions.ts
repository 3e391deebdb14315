import type { Config, Member, Role } from '../config/schema.js';

/**
 * Who may do what, from `team.members[].roles`. Only team members use the bot at all;
 * acting on someone else's run (cancel, restart) needs `oncall` or `admin`. A denial
 * carries the catalog key and the names of the people who may do it instead.
 */
export type Permission = { allowed: true; member: Member } | { allowed: false; key: string; params: { who: string } };

export function findMember(config: Config, userId: string): Member | undefined {
  return config.team.members.find((member) => member.id === userId);
}

export function hasRole(member: Member, roles: readonly Role[]): boolean {
  return member.roles.some((role) => roles.includes(role));
}

/** Display names of the members holding any of `roles`, joined for a message. */
export function namesWithRole(config: Config, roles: readonly Role[]): string {
  const names = config.team.members.filter((member) => hasRole(member, roles)).map((member) => member.name);
  return names.length > 0 ? names.join('、') : '—';
}

export function checkMember(config: Config, userId: string): Permission {
  const member = findMember(config, userId);
  if (member) return { allowed: true, member };
  return { allowed: false, key: 'core.denied.not_member', params: { who: namesWithRole(config, ['admin']) } };
}

/** Allows the run's owner, on-call and admins; anyone else is told who may act. */
export function checkRunAction(config: Config, userId: string, runOwnerId: string): Permission {
  const membership = checkMember(config, userId);
  if (!membership.allowed) return membership;
  if (userId === runOwnerId || hasRole(membership.member, ['oncall', 'admin'])) return membership;

  const owner = findMember(config, runOwnerId)?.name ?? runOwnerId;
  return {
    allowed: false,
    key: 'core.denied.not_owner',
    params: { who: [owner, namesWithRole(config, ['oncall', 'admin'])].join('、') },
  };
}

/** Allows only the given roles, naming the people who hold them otherwise. */
export function checkRole(config: Config, userId: string, roles: readonly Role[]): Permission {
  const membership = checkMember(config, userId);
  if (!membership.allowed) return membership;
  if (hasRole(membership.member, roles)) return membership;
  return { allowed: false, key: 'core.denied.role', params: { who: namesWithRole(config, roles) } };
}
