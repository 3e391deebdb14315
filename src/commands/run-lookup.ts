import { contextLine } from '../bot/blocks.js';
import type { RunRecord } from '../jobs/run-types.js';
import type { CommandContext, Reply } from './context.js';
import type { HandlerDeps } from './deps.js';

/** The run a command is about, and the context to reply through. */
export interface FoundRun {
  run: RunRecord;
  /**
   * The request's context. When the run was picked as the person's only active run,
   * its `respond` starts every reply with a line that names that run.
   */
  ctx: CommandContext;
}

/**
 * Returns the stored run `runId` names. Without an id (outside a thread) it returns the
 * person's only active run. Otherwise it responds with what is wrong (run not found, no
 * active run, several active runs with their ids) and returns undefined.
 */
export async function findRunOrRespond(
  runId: string | undefined,
  ctx: CommandContext,
  deps: Pick<HandlerDeps, 'runStore'>,
): Promise<FoundRun | undefined> {
  if (runId !== undefined) {
    const run = await deps.runStore.get(runId);
    if (!run) await ctx.respond(ctx.t('core.error.run_not_found', { id: runId }));
    return run ? { run, ctx } : undefined;
  }

  const active = (await deps.runStore.listActive()).filter((run) => run.userId === ctx.userId);
  const only = active.length === 1 ? active[0] : undefined;
  if (!only) {
    const ids = active.map((run) => `#${run.id}`).join(ctx.locale === 'zh-CN' ? '、' : ', ');
    ctx.logger.info({ activeRuns: active.length }, 'no run id given and no single active run to use');
    await ctx.respond(
      active.length === 0 ? ctx.t('core.error.run_id_missing_none') : ctx.t('core.error.run_id_missing_several', { count: active.length, ids }),
    );
    return undefined;
  }

  const note = ctx.t('core.run.only_active', { id: only.id });
  const respond = (reply: Reply | string): Promise<void> => ctx.respond(withNote(reply, note));
  return { run: only, ctx: { ...ctx, respond } };
}

/** Puts `note` on its own line before the reply's text, and before its blocks as a context line. */
function withNote(reply: Reply | string, note: string): Reply | string {
  if (typeof reply === 'string') return `${note}\n${reply}`;
  const text = `${note}\n${reply.text}`;
  return reply.blocks ? { text, blocks: [contextLine(note), ...reply.blocks] } : { text };
}
