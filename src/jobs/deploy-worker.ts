/**
 * The deploy processor: launches a model server detached on the VM, waits until its
 * health and model-list endpoints return 200 (probing on the VM), runs a smoke-test
 * completion, then keeps the run `serving` and follows the process until it ends.
 *
 * Deploying again on a VM replaces the old server only after the new one is healthy
 * (recipe `replace: after_healthy`), so a failed deploy leaves the old one serving. The
 * new server then takes the next port while the old one holds the recipe's port.
 * A deployment that dies while serving fails like any run; one stopped by a person
 * (`/deploy stop`, `/cancel`, or a replacement) ends `succeeded` once it has served.
 */
import type { Logger } from 'pino';

import type { DeployRecipe, VmConfig } from '../config/schema.js';
import type { Host } from '../remote/host.js';
import { isConnectionError } from '../remote/errors.js';
import { launchRun, readRunStatus, signalRun } from '../remote/launcher.js';
import { buildServerCommand } from '../remote/vllm-command.js';
import { REPLACED_BY_PREFIX } from './deploy-outcome.js';
import { localBaseUrl, probeServer, smokeTest } from './deploy-probe.js';
import {
  endIfCancelledBeforeLaunch,
  failRun,
  finishRun,
  loseRun,
  markLaunched,
  readLogTail,
  stopIfCancelledDuringLaunch,
  waitForExit,
  WorkerClosingError,
  type KindJobContext,
} from './deploy-steps.js';
import { failWithLogTail, prepareHostUnlessCancelled, processKindRun, RunInputError } from './kind-job.js';
import { runDirOf } from './run-dir.js';
import type { RunWorkerDeps } from './run-worker.js';
import type { RunRecord } from './run-types.js';

export { REPLACED_BY_PREFIX } from './deploy-outcome.js';

export async function processDeployRun(deps: RunWorkerDeps, initial: RunRecord, context: KindJobContext): Promise<void> {
  await processKindRun(deps, initial, context, {
    kind: 'deploy',
    process: async (recipe, vm) => {
      const adapter = await resolveAdapter(deps, initial, recipe);
      const prepared = await prepareHostUnlessCancelled(deps, initial, context.logger);
      if (!prepared) return;
      const run = prepared.run.status === 'serving' ? prepared.run : await startServer(deps, prepared.run, recipe, vm, prepared.host, adapter, context);
      if (run.status !== 'serving') return;
      await followServing(deps, run, vm, context);
    },
  });
}

/** Returns the adapter to serve: a finished training run's output (`from #42`) or the recipe's. */
async function resolveAdapter(deps: RunWorkerDeps, run: RunRecord, recipe: DeployRecipe): Promise<string | undefined> {
  if (run.sourceRunId === undefined) return recipe.adapter;
  const source = await deps.store.get(run.sourceRunId);
  if (!source || source.kind !== 'train') throw new RunInputError(`run #${run.sourceRunId} is not a training run`);
  if (source.status !== 'succeeded' || !source.outputPath) throw new RunInputError(`run #${run.sourceRunId} has not succeeded, so it has no adapter to serve`);
  if (source.vm !== run.vm) throw new RunInputError(`run #${run.sourceRunId} trained on ${source.vm}, and its adapter is not on ${run.vm}`);
  return source.outputPath;
}

/** Finds the deployment serving on the VM now, other than `runId`. */
async function findServing(deps: RunWorkerDeps, vmName: string, runId: string): Promise<RunRecord | undefined> {
  const active = await deps.store.listActive();
  return active.find((other) => other.kind === 'deploy' && other.vm === vmName && other.id !== runId && other.status === 'serving');
}

async function startServer(
  deps: RunWorkerDeps,
  initial: RunRecord,
  recipe: DeployRecipe,
  vm: VmConfig,
  host: Host,
  adapter: string | undefined,
  context: KindJobContext,
): Promise<RunRecord> {
  const { store, thread } = deps;
  const { logger } = context;
  let run = initial;
  const runDir = runDirOf(vm, run.id);

  let previous = await findServing(deps, run.vm, run.id);
  if (previous && recipe.replace === 'stop_first') {
    await stopDeployment(deps, previous, vm, host, `${REPLACED_BY_PREFIX}${run.id}`);
    previous = undefined;
  }

  const port = run.deployment?.port ?? (previous?.deployment?.port === recipe.port ? recipe.port + 1 : recipe.port);
  if (run.deployment?.port === undefined) run = await store.update(run.id, () => ({ deployment: { port } }));

  const command = buildServerCommand({ recipe, python: vm.python, gpus: vm.gpus, port, adapter });
  if (await endIfCancelledBeforeLaunch(deps, run, logger)) return store.require(run.id);
  const launch = await launchRun(host, { runDir, python: vm.python, command, attempt: run.attempt });
  logger.info({ attached: launch.attached, pid: launch.pid, port }, launch.attached ? 'attached to the launched server' : 'server launched');
  run = await markLaunched(deps, run);
  await stopIfCancelledDuringLaunch(host, runDir, run, logger);
  if (!launch.attached) {
    await thread.postReply(run, `run:${run.id}:deploy-launched:a${run.attempt}`, thread.translate('deploy.launched', { port, timeout: recipe.healthTimeoutSeconds }));
  }

  const health = await waitUntilHealthy(deps, run, recipe, vm, port, context);
  const stored = await store.require(run.id);
  switch (health.kind) {
    case 'healthy':
      return becomeServing(deps, stored, recipe, vm, await deps.hosts.get(run.vm), health.models, previous, context);
    case 'unreachable':
      return loseRun(deps, stored, logger);
    case 'exited': {
      if (stored.cancelRequestedBy) return finishRun(deps, stored, 'cancelled', {}, logger);
      const tail = await readLogTail(await deps.hosts.get(run.vm), runDir);
      const message = thread.translate(previous ? 'deploy.crashed_kept' : 'deploy.crashed', {
        code: health.exitCode ?? '—',
        tail: tail || '—',
        old: previous?.id ?? '',
        recipe: run.recipe,
      });
      return failRun(deps, stored, { failureClass: 'unknown', failureMessage: message, exitCode: health.exitCode ?? undefined }, logger);
    }
    case 'timeout': {
      await signalRun(await deps.hosts.get(run.vm), runDir, 'TERM');
      const message = thread.translate(previous ? 'deploy.timeout_kept' : 'deploy.timeout', {
        seconds: recipe.healthTimeoutSeconds,
        error: health.lastError,
        old: previous?.id ?? '',
      });
      logger.warn({ lastError: health.lastError }, 'server not healthy in time; stopped');
      return failRun(deps, stored, { failureClass: 'unknown', failureMessage: message }, logger);
    }
  }
}

type HealthOutcome =
  | { kind: 'healthy'; models: string[] }
  | { kind: 'exited'; exitCode: number | null }
  | { kind: 'timeout'; lastError: string }
  | { kind: 'unreachable' };

/**
 * Probes the launched server every `healthPollSeconds` until /health and /v1/models
 * return 200, its process exits, or `healthTimeoutSeconds` pass since the launch (so a
 * re-delivered job does not restart the clock). A dropped SSH connection is retried
 * until the deadline, or until `runs.lostAfterSeconds` when that is later.
 */
async function waitUntilHealthy(deps: RunWorkerDeps, run: RunRecord, recipe: DeployRecipe, vm: VmConfig, port: number, context: KindJobContext): Promise<HealthOutcome> {
  const { clock } = deps;
  const runDir = runDirOf(vm, run.id);
  const baseUrl = localBaseUrl(recipe.host, port);
  const deadline = new Date(run.launchedAt ?? clock.now().toISOString()).getTime() + recipe.healthTimeoutSeconds * 1000;
  let lastError = '';
  let unreachableSince: number | undefined;

  for (;;) {
    if (context.signal?.aborted) throw new WorkerClosingError();

    try {
      const host = await deps.hosts.get(run.vm);
      const state = await readRunStatus(host, runDir);
      if (state.exitCode !== null || !state.alive) return { kind: 'exited', exitCode: state.exitCode };
      const probe = await probeServer(host, vm.python, baseUrl);
      unreachableSince = undefined;
      if (probe.health === 200 && probe.models && probe.models.length > 0) return { kind: 'healthy', models: probe.models };
      lastError = probe.error ?? `/health ${probe.health ?? '—'}`;
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      deps.hosts.invalidate(run.vm);
      unreachableSince ??= clock.now().getTime();
      lastError = (error as Error).message;
    }

    const now = clock.now().getTime();
    if (unreachableSince !== undefined && now >= deadline && now - unreachableSince >= deps.config.runs.lostAfterSeconds * 1000) {
      return { kind: 'unreachable' };
    }
    if (unreachableSince === undefined && now >= deadline) return { kind: 'timeout', lastError };
    await clock.sleep(recipe.healthPollSeconds * 1000);
  }
}

async function becomeServing(
  deps: RunWorkerDeps,
  initial: RunRecord,
  recipe: DeployRecipe,
  vm: VmConfig,
  host: Host,
  models: string[],
  previous: RunRecord | undefined,
  context: KindJobContext,
): Promise<RunRecord> {
  const { store, thread } = deps;
  const { logger } = context;
  const runDir = runDirOf(vm, initial.id);
  const port = initial.deployment?.port ?? recipe.port;
  const baseUrl = localBaseUrl(recipe.host, port);

  // Serve the adapter when there is one: vLLM lists it after the base model.
  const model = models[models.length - 1]!;
  const smoke = await smokeTest(host, vm.python, baseUrl, model, recipe.smokePrompt);
  if (!smoke.ok) {
    await signalRun(host, runDir, 'TERM');
    const message = thread.translate(previous ? 'deploy.smoke_failed_kept' : 'deploy.smoke_failed', { error: smoke.error, old: previous?.id ?? '' });
    return failRun(deps, await store.require(initial.id), { failureClass: 'unknown', failureMessage: message }, logger);
  }

  if (previous) await stopDeployment(deps, previous, vm, host, `${REPLACED_BY_PREFIX}${initial.id}`);

  const endpoint = `http://${endpointHost(vm, recipe)}:${port}/v1`;
  const run = await store.update(initial.id, (stored) => ({
    status: 'serving',
    deployment: { port, endpoint, models, smokeLatencyMs: smoke.latencyMs, ...(previous ? { replaced: previous.id } : {}) },
    ...(stored.startedAt ? {} : { startedAt: deps.clock.now().toISOString() }),
  }));
  await thread.refreshRoot(run);
  await thread.postReply(
    run,
    `run:${run.id}:deploy-serving:a${run.attempt}`,
    thread.translate(previous ? 'deploy.serving_replaced' : 'deploy.serving', {
      endpoint,
      models: models.join(', '),
      latency: Math.round(smoke.latencyMs),
      reply: smoke.text.replace(/\s+/g, ' ').slice(0, 300),
      old: previous?.id ?? '',
    }),
  );
  logger.info({ endpoint, models, latencyMs: smoke.latencyMs }, 'deployment serving');
  return run;
}

/** Follows a serving deployment until its process ends, then stores how it ended. */
async function followServing(deps: RunWorkerDeps, run: RunRecord, vm: VmConfig, context: KindJobContext): Promise<void> {
  const runDir = runDirOf(vm, run.id);
  const wait = await waitForExit(deps, run, runDir, deps.pollMs ?? deps.config.runs.pollSeconds * 1000, context.signal);
  const stored = await deps.store.require(run.id);
  if (!wait.exited) {
    await loseRun(deps, stored, context.logger);
    return;
  }
  const exitCode = wait.state.exitCode;
  if (stored.cancelRequestedBy) {
    await finishRun(deps, stored, 'succeeded', { exitCode: exitCode ?? undefined }, context.logger);
    return;
  }
  const host = await deps.hosts.get(run.vm);
  await failWithLogTail(deps, { run: stored, host, runDir, exitCode }, 'deploy.died', context.logger, 'killed');
}

/**
 * Stops a deployment's server: records who stopped it, then sends TERM to its process
 * group. The deployment's own job detects the exit and stores the outcome.
 */
export async function stopDeployment(deps: Pick<RunWorkerDeps, 'store'>, run: RunRecord, vm: VmConfig, host: Host, actor: string): Promise<void> {
  await deps.store.update(run.id, (stored) => (stored.cancelRequestedBy ? undefined : { cancelRequestedBy: actor }));
  await signalRun(host, runDirOf(vm, run.id), 'TERM');
}

function endpointHost(vm: VmConfig, recipe: DeployRecipe): string {
  if (recipe.host !== '0.0.0.0' && recipe.host !== '::') return recipe.host;
  return vm.transport === 'ssh' && vm.ssh ? vm.ssh.host : '127.0.0.1';
}
