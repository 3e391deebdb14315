import type { RunRecord } from '../jobs/run-types.js';
import type { CommandContext } from './context.js';
import type { HandlerDeps } from './deps.js';

/** Returns the stored run, or responds that the run was not found and returns undefined. */
export async function findRunOrRespond(runId: string, ctx: CommandContext, deps: Pick<HandlerDeps, 'runStore'>): Promise<RunRecord | undefined> {
  const run = await deps.runStore.get(runId);
  if (!run) await ctx.respond(ctx.t('core.error.run_not_found', { id: runId }));
  return run;
}
