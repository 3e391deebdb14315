import type { Translate } from '../bot/i18n.js';
import type { OncallState } from '../jobs/oncall-rotation.js';
import { isRestartPointError, parseRestartFrom, type RestartFrom } from '../jobs/restart-point.js';
import { runStatusLabel } from '../jobs/run-reporter.js';
import type { RestartOutcome, RestartRequest } from '../jobs/run-restart.js';
import type { RunRecord } from '../jobs/run-types.js';
import type { Config } from '../config/schema.js';
import { DEFAULT_BENCH_RECIPE } from './bench-parse.js';
import { isParseError, parseError, type ParseError } from './parse-error.js';
import { findMember, hasRole, namesWithRole } from './permissions.js';
import type { ParseContext } from './context.js';
import { defineCommand } from './registry.js';
import { isRunRef, parseRunRef } from './run-ref.js';
import { tokenize } from './tokenize.js';

/**
 * `/restart [#id] [from=latest|<step>|scratch]`: resumes a failed, lost or cancelled run
 * in its thread as the next attempt. The restart button on a run runs `/restart #id`.
 * A succeeded run is not restarted: the reply gives the command that starts a new run.
 */
export interface RestartCommand {
  readonly runId: string;
  readonly from: RestartFrom;
}

/** Restart and on-call lookups the handler needs; the runtime fills them in. */
export interface RestartPort {
  restart(request: RestartRequest): Promise<RestartOutcome>;
  /** Returns the on-call state now, override included. */
  oncallState(now: Date): Promise<OncallState>;
}

declare module './deps.js' {
  interface HandlerDeps {
    readonly restarts?: RestartPort;
  }
}

export function parseRestart(text: string, ctx: ParseContext): RestartCommand | ParseError {
  const tokens = tokenize(text);
  if (isParseError(tokens)) return tokens;

  let runToken: string | undefined;
  let fromText: string | undefined;
  for (const token of tokens) {
    const option = /^(from|从)=(.*)$/i.exec(token);
    if (option) {
      fromText = option[2];
    } else if (runToken === undefined && fromText === undefined && isRunRef(token)) {
      runToken = token;
    } else if (fromText === undefined && /^(latest|scratch|最新|从头)$/i.test(token)) {
      fromText = token;
    } else {
      return parseError('restart.usage');
    }
  }

  const runId = parseRunRef(runToken, ctx);
  if (isParseError(runId)) return runId;
  const from = parseRestartFrom(fromText);
  if (isRestartPointError(from)) return parseError('restart.invalidFrom', { text: (fromText ?? '').slice(0, 40) });
  return { runId, from };
}

/** Owner, on-call (by role or as the person on call now) and admins may restart a run. */
export function mayRestart(config: Config, userId: string, run: Pick<RunRecord, 'userId'>, oncallNow: string | null): boolean {
  const member = findMember(config, userId);
  if (!member) return false;
  return userId === run.userId || userId === oncallNow || hasRole(member, ['oncall', 'admin']);
}

export const restartCommand = defineCommand<RestartCommand>({
  name: 'restart',
  aliases: ['重启', 'resume'],
  helpKey: 'restart.usage',
  parse: parseRestart,
  async handle(command, ctx, deps) {
    if (!deps.restarts) {
      await ctx.respond(ctx.t('core.error.not_configured', { port: 'restarts' }));
      return;
    }
    const run = await deps.runStore.get(command.runId);
    if (!run) {
      await ctx.respond(ctx.t('core.error.run_not_found', { id: command.runId }));
      return;
    }

    if (run.status === 'succeeded') {
      ctx.logger.info({ runId: run.id }, 'restart rejected: the run succeeded');
      await ctx.respond(describeSucceeded(run, ctx.t));
      return;
    }

    const oncall = await deps.restarts.oncallState(ctx.now);
    if (!mayRestart(deps.config, ctx.userId, run, oncall.current)) {
      ctx.logger.info({ runId: run.id }, 'restart rejected: not the owner, on-call or admin');
      await ctx.respond(
        ctx.t('restart.denied', {
          runId: run.id,
          owner: run.userId,
          oncall: [oncall.current ? `<@${oncall.current}>` : undefined, namesWithRole(deps.config, ['oncall'])].filter(Boolean).join('、'),
          admins: namesWithRole(deps.config, ['admin']),
        }),
      );
      return;
    }

    const result = await deps.restarts.restart({ runId: run.id, from: command.from, actor: ctx.userId, expectedAttempt: run.attempt });
    await ctx.respond(describeOutcome(result, command.runId, ctx.t));
  },
});

/**
 * Returns the command that starts a new run like `run`, with its overrides and plan
 * item, such as `/train demo on local steps=30`. Values with spaces or quotes are quoted
 * so the tokenizer reads them back as one word.
 */
export function rerunCommand(run: Pick<RunRecord, 'kind' | 'recipe' | 'vm' | 'overrides' | 'planItem' | 'sourceRunId'>): string {
  const words: string[] = [];
  if (run.kind === 'train') words.push('/train', run.recipe);
  else if (run.kind === 'deploy') words.push('/deploy', run.recipe);
  else if (run.kind === 'dataset') words.push('/dataset', 'check', run.recipe);
  else words.push('/bench', 'comm', ...(run.recipe === DEFAULT_BENCH_RECIPE ? [] : [run.recipe]));

  words.push('on', run.vm);
  if (run.kind === 'deploy' && run.sourceRunId !== undefined) words.push('from', `#${run.sourceRunId}`);
  if (run.planItem !== undefined) words.push('for', run.planItem);
  for (const [name, value] of Object.entries(run.overrides)) words.push(`${name}=${quoteWord(String(value))}`);
  return words.join(' ');
}

function quoteWord(value: string): string {
  if (value.length > 0 && !/[\s"'“”‘’「」『』，、；,;。]/u.test(value)) return value;
  return value.includes('"') ? `「${value}」` : `"${value}"`;
}

function describeSucceeded(run: RunRecord, t: Translate): string {
  return t('restart.succeeded', { runId: run.id, command: rerunCommand(run) });
}

function describeOutcome(result: RestartOutcome, runId: string, t: Translate): string {
  switch (result.outcome) {
    case 'restarted':
      return t('restart.queued', { runId: result.run.id, attempt: result.run.attempt, from: result.fromText });
    case 'not_found':
      return t('core.error.run_not_found', { id: runId });
    case 'succeeded':
      return describeSucceeded(result.run, t);
    case 'not_ended':
    case 'superseded':
      return t('restart.notEnded', { runId, status: runStatusLabel(result.run, t) });
    case 'host_unreachable':
      return t('restart.hostUnreachable', { vm: result.run.vm, error: result.error.slice(0, 300) });
    case 'invalid_point':
      if (result.error === 'step_not_found') {
        const available = result.available.length > 0 ? result.available.join(', ') : t('restart.none');
        const lines = [t('restart.stepNotFound', { runId, step: result.step, available })];
        if (result.nearest !== null) lines.push(t('restart.stepNearest', { runId, nearest: result.nearest }));
        return lines.join('\n');
      }
      return t('restart.invalidFrom', { text: result.text.slice(0, 40) });
  }
}
