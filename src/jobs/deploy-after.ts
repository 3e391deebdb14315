/**
 * Train, then deploy: when a training run whose recipe names `deployAfter` succeeds, a
 * deploy run of that recipe is queued on the same VM, serving the new adapter
 * (`sourceRunId`) and linked to the same plan item, so a `训练并部署` item moves on by
 * itself. The training run records the deploy run's id, so a re-delivered job queues it once.
 */
import type { Logger } from 'pino';

import { createRunQueue, enqueueRun, RUN_QUEUE_NAME } from './run-queue.js';
import type { RunWorkerDeps } from './run-worker.js';
import type { RunRecord } from './run-types.js';

export async function queueDeployAfterTraining(deps: RunWorkerDeps, run: RunRecord, logger: Logger): Promise<RunRecord | undefined> {
  const recipe = deps.config.recipes[run.recipe];
  if (run.kind !== 'train' || run.status !== 'succeeded' || recipe?.kind !== 'train' || !recipe.deployAfter) return undefined;
  if (run.deployRunId !== undefined) return deps.store.get(run.deployRunId);

  const deployRecipe = deps.config.recipes[recipe.deployAfter];
  if (deployRecipe?.kind !== 'deploy') {
    logger.warn({ runId: run.id, deployAfter: recipe.deployAfter }, 'deployAfter names no deploy recipe; nothing deployed');
    return undefined;
  }

  const created = await deps.store.create({
    kind: 'deploy',
    recipe: recipe.deployAfter,
    vm: run.vm,
    userId: run.userId,
    channel: run.channel,
    overrides: {},
    sourceRunId: run.id,
    ...(run.planItem ? { planItem: run.planItem } : {}),
  });

  // Claim the training run for this deploy; a worker that lost the race drops its own.
  const claimed = await deps.store.update(run.id, (stored) => (stored.deployRunId ? undefined : { deployRunId: created.id }));
  if (claimed.deployRunId !== created.id) {
    await deps.store.transition(created.id, 'cancelled', { failureClass: 'cancelled', failureMessage: `duplicate of #${claimed.deployRunId}` });
    return deps.store.get(claimed.deployRunId!);
  }

  const rooted = await deps.thread.postThreadRoot(created);
  const queue = createRunQueue(deps.connection, deps.prefix, deps.queueName ?? RUN_QUEUE_NAME);
  try {
    await enqueueRun(queue, rooted);
  } finally {
    await queue.close();
  }
  await deps.thread.postReply(run, `run:${run.id}:deploy-after`, deps.thread.translate('deploy.after_training', { id: created.id, recipe: created.recipe, vm: created.vm }));
  logger.info({ runId: run.id, deployRunId: created.id }, 'deployment queued after training');
  return rooted;
}
