import { TZDate } from '@date-fns/tz';
import { format } from 'date-fns';

import type { Translate } from '../bot/i18n.js';
import type { OncallOverride, OncallState } from '../jobs/oncall-rotation.js';
import type { AckOutcome } from '../jobs/oncall-store.js';
import { ONCALL_ACK_ACTION, parseAckValue } from '../jobs/oncall-paging.js';
import type { ParseContext } from './context.js';
import { readMemberRef } from './member-ref.js';
import { isParseError, parseError, type ParseError } from './parse-error.js';
import { findMember, hasRole } from './permissions.js';
import { defineCommand, type ActionSpec } from './registry.js';
import { tokenize } from './tokenize.js';

/**
 * `/oncall` shows who is on call now and next; `/oncall set @user` makes someone on
 * call until the next hand-over (admins and the person on call only). Also the
 * "I'm on it" button of failure pages.
 */
export type OncallCommand = { readonly kind: 'show' } | { readonly kind: 'set'; readonly userId: string };

/** On-call state and actions; the runtime fills it in. */
export interface OncallPort {
  state(now: Date): Promise<OncallState>;
  setOverride(override: OncallOverride): Promise<void>;
  acknowledge(runId: string, attempt: number, userId: string): Promise<AckOutcome>;
}

declare module './deps.js' {
  interface HandlerDeps {
    readonly oncall?: OncallPort;
  }
}

/** Reads `/oncall`, `/oncall set <@U…>`, `/oncall set @U…` or `/oncall set @<display name>`. */
export function parseOncall(text: string, ctx: Pick<ParseContext, 'config' | 'userId'>): OncallCommand | ParseError {
  const tokens = tokenize(text);
  if (isParseError(tokens)) return tokens;
  if (tokens.length === 0 || (tokens.length === 1 && /^(show|now|查看)$/i.test(tokens[0] as string))) return { kind: 'show' };

  if (tokens.length === 2 && /^(set|设置|换成)$/i.test(tokens[0] as string)) {
    const userId = readMemberRef(tokens[1] as string, ctx.config, ctx.userId);
    if (userId) return { kind: 'set', userId };
    return parseError('core.error.member_unknown', {
      value: (tokens[1] as string).slice(0, 40),
      valid: ctx.config.team.members.map((member) => `@${member.name}`).join(', '),
    });
  }
  return parseError('oncall.usage');
}

export function formatOncallState(t: Translate, state: OncallState, timeZone: string): string {
  const person = (userId: string | null) => (userId ? `<@${userId}>` : t('oncall.nobody'));
  const until = format(new TZDate(state.nextHandoverAt.getTime(), timeZone), 'yyyy-MM-dd HH:mm');
  const params = { current: person(state.current), scheduled: person(state.scheduled), next: person(state.next), until };
  return t(state.override ? 'oncall.showOverride' : 'oncall.show', params);
}

export const oncallCommand = defineCommand<OncallCommand>({
  name: 'oncall',
  aliases: ['值班'],
  helpKey: 'oncall.usage',
  parse: (text, ctx) => parseOncall(text, ctx),
  async handle(command, ctx, deps) {
    if (!deps.oncall) {
      await ctx.respond(ctx.t('core.error.not_configured', { port: 'oncall' }));
      return;
    }
    if (deps.config.team.oncall.rotation.length === 0 && command.kind === 'show') {
      await ctx.respond(ctx.t('oncall.noRotation'));
      return;
    }

    const state = await deps.oncall.state(ctx.now);
    if (command.kind === 'show') {
      await ctx.respond(formatOncallState(ctx.t, state, deps.config.timezone));
      return;
    }

    const requester = findMember(deps.config, ctx.userId);
    if (!requester || !(hasRole(requester, ['admin']) || ctx.userId === state.current)) {
      ctx.logger.info({ target: command.userId }, 'on-call override rejected: not an admin or the person on call');
      await ctx.respond(ctx.t('oncall.setDenied', { current: state.current ? `<@${state.current}>` : ctx.t('oncall.nobody') }));
      return;
    }
    if (!findMember(deps.config, command.userId)) {
      await ctx.respond(ctx.t('oncall.setNotMember', { user: command.userId }));
      return;
    }

    const until = state.nextHandoverAt.toISOString();
    await deps.oncall.setOverride({ userId: command.userId, setBy: ctx.userId, setAt: ctx.now.toISOString(), until });
    ctx.logger.info({ target: command.userId, until }, 'on-call override set');
    const untilText = format(new TZDate(state.nextHandoverAt.getTime(), deps.config.timezone), 'yyyy-MM-dd HH:mm');
    await ctx.respond(ctx.t('oncall.setDone', { user: command.userId, until: untilText }));
  },
});

/** The "I'm on it" button: records the acknowledgement, which stops the escalation. */
export const oncallAckAction: ActionSpec = {
  actionId: ONCALL_ACK_ACTION,
  async handle(action, deps) {
    const t = deps.translate(deps.config.team.members.find((member) => member.id === action.userId)?.locale ?? deps.config.locale);
    const target = parseAckValue(action.value);
    if (!deps.oncall || !target) {
      deps.logger.warn({ value: action.value }, 'on-call acknowledgement ignored: invalid button value or no on-call port');
      return;
    }
    const outcome = await deps.oncall.acknowledge(target.runId, target.attempt, action.userId);
    if (outcome.outcome === 'already_acked' && outcome.state.ackedBy !== action.userId) {
      await action.respond(t('oncall.alreadyAcked', { runId: target.runId, user: outcome.state.ackedBy }));
    }
  },
};
