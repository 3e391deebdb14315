/**
 * The BullMQ worker that carries a train run through its life:
 * queued -> starting_vm (managed VMs that are not running) -> syncing -> running ->
 * succeeded | failed | cancelled | lost. Each transition is stored before it is
 * announced. A re-delivered job (a retry, or a stalled job after a worker died)
 * resumes from the stored status: the launcher attaches to the running process instead
 * of starting a second one, and following resumes at the stored event offset.
 *
 * Bad job input (unknown run, recipe or VM) is an UnrecoverableError: the run is
 * marked failed with `config_error` and the job is not retried.
 */
import { UnrecoverableError, WaitingError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';

import type { Config, TrainRecipe, VmConfig } from '../config/schema.js';
import type { HostProvider } from '../remote/host.js';
import { launchRun, signalRun } from '../remote/launcher.js';
import { syncCode } from '../remote/code-sync.js';
import type { VmControl } from '../remote/vm-control.js';
import type { Clock } from './clock.js';
import type { KindJobContext } from './deploy-steps.js';
import { queueDeployAfterTraining } from './deploy-after.js';
import { processDeployRun } from './deploy-worker.js';
import { processBenchRun } from './bench-worker.js';
import { processDatasetRun } from './dataset-worker.js';
import type { RunFailureInput } from './run-failure.js';
import { prepareRestartedAttempt } from './run-restart.js';
import { runDirOf } from './run-dir.js';
import { followRun } from './run-follow.js';
import { buildRunJson, UnknownOverrideError } from './run-json.js';
import { announceRunEnd, finishRun, settleAttempt } from './run-outcome.js';
import { RUN_QUEUE_NAME, type RunJobData } from './run-queue.js';
import { isFinalStatus } from './run-state.js';
import type { RunStore } from './run-store.js';
import type { RunThread } from './run-thread.js';
import type { RunRecord, RunStatus } from './run-types.js';
import { startVmForRun } from './vm-start.js';
import { attachWorkerEventLogging } from './worker-events.js';

/** Processors of the kinds other than train (deploy, dataset check, comm bench). */
const KIND_PROCESSORS: Partial<Record<RunRecord['kind'], (deps: RunWorkerDeps, run: RunRecord, context: KindJobContext) => Promise<void>>> = {
  deploy: processDeployRun,
  bench: processBenchRun,
  dataset: processDatasetRun,
};

export interface RunWorkerDeps {
  config: Pick<Config, 'recipes' | 'vms' | 'slack' | 'runs'>;
  /** BullMQ connection (an ioredis instance needs `maxRetriesPerRequest: null`). */
  connection: ConnectionOptions;
  /** BullMQ key prefix: the config's `redisPrefix`. */
  prefix: string;
  queueName?: string;
  store: RunStore;
  thread: RunThread;
  hosts: HostProvider;
  vmControl: VmControl;
  clock: Clock;
  logger: Logger;
  /** Local folder shipped to the VM as the trainer code (the repository's `python/`). */
  codeSource: string;
  /**
   * Lifetime of a job's lock without renewal, in ms (default 120 s). The worker renews it
   * every half of this while the run is followed, for hours if need be. A dead worker's
   * job is re-delivered once its lock has expired and the stalled check runs.
   */
  lockDuration?: number;
  /** Interval of the stalled-job check, in ms (default 30 s). */
  stalledInterval?: number;
  /** Re-deliveries after stalls before BullMQ fails the job (default 20: worker restarts are normal). */
  maxStalledCount?: number;
  /** Interval between reads of events.jsonl in ms (default `runs.pollSeconds`). */
  pollMs?: number;
  /**
   * Failure handling (report, restart policy, on-call) after a failed or lost attempt is
   * stored: `handleRunFailure`. Its report takes the place of the short outcome message.
   */
  onRunFailure?: (input: RunFailureInput) => Promise<unknown>;
}

/** Starts a worker on the run queue; close it with `worker.close()`. */
export function startRunWorker(deps: RunWorkerDeps): Worker<RunJobData, void, string> {
  const worker = new Worker<RunJobData, void, string>(deps.queueName ?? RUN_QUEUE_NAME, (job, token, signal) => processRunJob(deps, job, token, signal), {
    connection: deps.connection,
    prefix: deps.prefix,
    concurrency: deps.config.runs.maxConcurrentPerWorker,
    lockDuration: deps.lockDuration ?? 120_000,
    stalledInterval: deps.stalledInterval ?? 30_000,
    maxStalledCount: deps.maxStalledCount ?? 20,
  });
  attachWorkerEventLogging(worker, deps.logger);
  return worker;
}

/** Processes one attempt of a run; exported for the worker and for tests that drive a job directly. */
export async function processRunJob(deps: RunWorkerDeps, job: Job<RunJobData>, token?: string, signal?: AbortSignal): Promise<void> {
  const { store, thread } = deps;
  const { runId, attempt } = job.data;
  const logger = deps.logger.child({ runId, jobId: job.id, attempt });

  let run = await store.get(runId);
  if (!run) throw new UnrecoverableError(`run #${runId} does not exist`);
  if (run.attempt !== attempt) {
    logger.info({ currentAttempt: run.attempt }, 'job belongs to an earlier attempt; nothing to do');
    return;
  }
  const kindProcessor = KIND_PROCESSORS[run.kind];
  if (kindProcessor) return kindProcessor(deps, run, { job, token, signal, logger });

  if (isFinalStatus(run.status)) {
    // A re-delivery after the outcome was stored: make sure it was announced.
    await announceRunEnd(deps, run, logger, { vm: deps.config.vms[run.vm] ?? { workdir: '~/trainops' } });
    await queueDeployAfterTraining(deps, run, logger);
    return;
  }

  const recipe = deps.config.recipes[run.recipe];
  const vm = deps.config.vms[run.vm];
  const inputError = findInputError(run, recipe, vm);
  if (inputError || !vm || recipe?.kind !== 'train') {
    const failureMessage = inputError ? thread.translate(inputError.key, inputError.params) : undefined;
    await finishRun(deps, run, 'failed', { failureClass: 'config_error', failureMessage }, logger);
    throw new UnrecoverableError(`run #${runId}: recipe "${run.recipe}" or VM "${run.vm}" is not in the config, or the recipe is not a train recipe`);
  }

  try {
    run = await prepareAndLaunch(deps, run, recipe, vm, logger);
    if (isFinalStatus(run.status)) return;
    const result = await followRun(followDeps(deps, logger), run, runDirOf(vm, run.id), signal ?? new AbortController().signal);
    if (result.reason === 'aborted') {
      // The worker is shutting down: hand the job back without using up an attempt,
      // so another worker attaches to the run where this one stopped.
      logger.info('worker closing; job returned to the queue');
      await job.moveToWait(token);
      throw new WaitingError();
    }
    await settleAttempt(deps, result, vm, logger);
  } catch (error) {
    if (error instanceof WaitingError) throw error;
    if (error instanceof UnknownOverrideError) {
      await finishRun(deps, run, 'failed', { failureClass: 'config_error', failureMessage: error.message }, logger);
      throw new UnrecoverableError(error.message);
    }
    const attemptsLeft = (job.opts.attempts ?? 1) - job.attemptsMade - 1;
    logger.error({ err: error, attemptsLeft }, 'run job failed');
    if (attemptsLeft <= 0) {
      const current = await store.require(runId);
      if (!isFinalStatus(current.status) && !current.launchedAt) {
        await finishRun(deps, current, 'failed', { failureClass: 'unknown', failureMessage: (error as Error).message }, logger);
      }
    }
    throw error;
  }
}

/** Returns the message of what makes the run's input invalid, or undefined when it is valid. */
function findInputError(
  run: RunRecord,
  recipe: Config['recipes'][string] | undefined,
  vm: VmConfig | undefined,
): { key: string; params: Record<string, string> } | undefined {
  if (!recipe) return { key: 'runs.error.unknownRecipe', params: { recipe: run.recipe } };
  if (recipe.kind !== 'train') return { key: 'runs.error.notTrainRecipe', params: { recipe: run.recipe, kind: recipe.kind } };
  if (!vm) return { key: 'runs.error.unknownVm', params: { vm: run.vm } };
  return undefined;
}

/**
 * Starts the VM, syncs the trainer code and launches the attempt, or attaches to it.
 * The stored run is read again after the VM start and right before the launch, so a
 * cancel that arrived meanwhile ends the run as cancelled and nothing is launched. A
 * cancel that races the launch itself is seen after it, and the trainer gets SIGTERM.
 */
async function prepareAndLaunch(deps: RunWorkerDeps, initial: RunRecord, recipe: TrainRecipe, vm: VmConfig, logger: Logger): Promise<RunRecord> {
  const { store, thread, hosts, clock } = deps;
  let run = initial;
  const before = (statuses: RunStatus[]): boolean => statuses.includes(run.status);

  run = await startVmForRun(deps, run);
  const cancelledAfterVmStart = await endIfCancelledBeforeLaunch(deps, run.id, logger);
  if (cancelledAfterVmStart) return cancelledAfterVmStart;

  const host = await hosts.get(run.vm);
  let codeDir = run.codeDir;
  if (before(['queued', 'restarting', 'starting_vm', 'syncing']) || !codeDir) {
    if (run.status !== 'running') {
      run = await store.transition(run.id, 'syncing', { startedAt: run.startedAt ?? clock.now().toISOString() });
      // Not awaited: the root update may wait minutes for chat.update's budget (about 50 a
      // minute for the whole process) when many runs start, and launching must not wait.
      // refreshRoot logs its own failures and never throws.
      void thread.refreshRoot(run);
    }
    const synced = await syncCode(host, { localDir: deps.codeSource, workdir: vm.workdir });
    codeDir = synced.codeDir;
    run = await store.update(run.id, () => ({ codeDir: synced.codeDir }));
    logger.info({ codeDir, uploaded: synced.uploaded }, 'trainer code synced');
  }

  const runDir = runDirOf(vm, run.id);
  if (run.attempt > 1 && !run.launchedAt) {
    const offset = await prepareRestartedAttempt(host, runDir, run.attempt, { clock, logger });
    if (offset !== undefined) run = await store.update(run.id, () => ({ eventOffset: offset }));
  }

  // After the code sync and, for a restart, after stopping the previous trainer.
  const cancelledBeforeLaunch = await endIfCancelledBeforeLaunch(deps, run.id, logger);
  if (cancelledBeforeLaunch) return cancelledBeforeLaunch;
  const runJson = buildRunJson({ runId: run.id, recipe, overrides: run.overrides, runDir: await host.resolvePath(runDir), resumeFrom: run.resumeFrom }, run.recipe);
  const launch = await launchRun(host, { runDir, codeDir, python: vm.python, runJson, gpus: vm.gpus, attempt: run.attempt });
  logger.info({ attached: launch.attached, pid: launch.pid }, launch.attached ? 'attached to the launched run' : 'run launched');

  const launchedAt = clock.now().toISOString();
  run = await store.update(run.id, (stored) => ({
    status: 'running',
    launchedAt: stored.launchedAt ?? launchedAt,
    startedAt: stored.startedAt ?? launchedAt,
    // The run's launchedAt belongs to the current attempt (a restart clears it), so a
    // re-delivered job that attaches keeps the first launch time.
    attempts: stored.attempts.map((entry) =>
      entry.attempt === stored.attempt && !entry.launchedAt ? { ...entry, launchedAt: stored.launchedAt ?? launchedAt } : entry,
    ),
  }));
  void thread.refreshRoot(run);

  if (run.cancelRequestedBy) {
    // A cancel that arrived while the run was being launched: the trainer checkpoints and writes `end`.
    await signalRun(host, runDir, 'TERM');
  }
  return run;
}

/**
 * Reads the stored run and, when a cancel was requested before its process was
 * launched, ends it as cancelled and returns it. Returns undefined when the run goes on.
 */
async function endIfCancelledBeforeLaunch(deps: RunWorkerDeps, runId: string, logger: Logger): Promise<RunRecord | undefined> {
  const stored = await deps.store.require(runId);
  if (!stored.cancelRequestedBy || stored.launchedAt) return undefined;
  logger.info({ cancelRequestedBy: stored.cancelRequestedBy, status: stored.status }, 'cancel requested before launch; run not launched');
  return finishRun(deps, stored, 'cancelled', { failureClass: 'cancelled' }, logger);
}

function followDeps(deps: RunWorkerDeps, logger: Logger): Parameters<typeof followRun>[0] {
  return {
    store: deps.store,
    thread: deps.thread,
    hosts: deps.hosts,
    clock: deps.clock,
    logger,
    progress: { everySeconds: deps.config.slack.progressEverySeconds, everySteps: deps.config.slack.progressEverySteps },
    pollMs: deps.pollMs ?? deps.config.runs.pollSeconds * 1000,
    lostAfterSeconds: deps.config.runs.lostAfterSeconds,
    vmControl: deps.vmControl,
  };
}
