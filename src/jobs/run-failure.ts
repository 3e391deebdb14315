import type { Logger } from 'pino';

import type { Config, RestartPolicy } from '../config/schema.js';
import type { HostProvider } from '../remote/host.js';
import type { PowerState, VmControl } from '../remote/vm-control.js';
import { classifyFailure, finalStatusFor, type EndEventSummary, type FailureClassification } from './failure-classifier.js';
import { failureLabel, formatFailureReport } from './failure-report.js';
import type { OncallPager } from './oncall-paging.js';
import { AUTO_RESTART_ACTOR, decideAutoRestart, type AutoRestartDecision } from './restart-policy.js';
import { restartRun, type RestartDeps, type RestartOutcome } from './run-restart.js';
import { runDirOf } from './run-dir.js';
import { outcomeKey } from './run-thread.js';
import { isActiveStatus } from './run-state.js';
import type { RunRecord } from './run-types.js';

/**
 * Failure handling after an attempt ends unsuccessfully or its host stays unreachable past
 * `runs.lostAfterSeconds`: classify, store the outcome, post the failure report as the
 * attempt's final message, then restart by the recipe's policy or page on-call. Each
 * step is keyed by run and attempt, so a worker that dies halfway and a re-delivered
 * job finish the work without repeating a message, a page or a restart.
 */

export interface FailureDeps extends RestartDeps {
  pager: Pick<OncallPager, 'pageFailure'>;
  vmControl: VmControl;
  /** Last part of the run's train.log; empty when unreadable. */
  readLogTail(run: RunRecord): Promise<string>;
}

export interface RunFailureInput {
  runId: string;
  /** The attempt that ended; a call for an attempt that is no longer current is ignored. */
  attempt: number;
  /** The attempt's `end` event, or null when none was written. */
  endEvent: EndEventSummary | null;
  /** `exit_code` of the attempt, null when absent or unreadable. */
  exitCode: number | null;
  /** False when the worker gave up reaching the host (`runs.lostAfterSeconds`). */
  hostReachable: boolean;
  /** train.log tail when the worker already has it; read through `readLogTail` otherwise. */
  logTail?: string;
  /** A classification stored earlier (run recovery); skips classifying again. */
  classification?: FailureClassification;
  /** Loss of each step event of the attempt, in order, for the report's sparkline. */
  losses?: readonly number[];
}

export type RunFailureOutcome =
  | { handled: false; reason: 'stale_attempt' | 'not_found' }
  | {
      handled: true;
      run: RunRecord;
      classification: FailureClassification;
      decision?: AutoRestartDecision;
      restart?: RestartOutcome;
      paged: boolean;
    };

export async function handleRunFailure(deps: FailureDeps, input: RunFailureInput): Promise<RunFailureOutcome> {
  const { store, logger } = deps;
  const current = await store.get(input.runId);
  if (!current) return { handled: false, reason: 'not_found' };
  if (current.attempt !== input.attempt) {
    logger.info({ runId: input.runId, attempt: input.attempt, currentAttempt: current.attempt }, 'failure of a superseded attempt ignored');
    return { handled: false, reason: 'stale_attempt' };
  }

  const logTail = input.logTail ?? (await readLogTailQuietly(deps, current, input.hostReachable));
  const classification =
    input.classification ??
    classifyFailure({
      endEvent: input.endEvent,
      exitCode: input.exitCode,
      logTail,
      hostReachable: input.hostReachable,
      powerState: await readPowerState(deps, current.vm, input.hostReachable, input.exitCode),
      cancelledBy: current.cancelRequestedBy,
    });

  const run = await recordFailure(deps, current, classification, input.exitCode);
  const log = logger.child({ runId: run.id, attempt: run.attempt, failureClass: classification.failureClass });
  log.info({ exitCode: input.exitCode, detail: classification.detail }, 'run attempt ended unsuccessfully');

  if (classification.failureClass === 'cancelled') {
    // A person decided to cancel: the short outcome reports it, and nothing more is posted.
    return { handled: true, run, classification, paged: false };
  }

  const report = formatFailureReport(deps.t, {
    run,
    classification,
    exitCode: input.exitCode,
    logTail,
    losses: input.losses ?? [],
    ...(run.status === 'lost' ? { lostAfterSeconds: deps.config.runs.lostAfterSeconds } : {}),
  });
  // The report is the attempt's final message, so it takes the outcome's key: the short
  // outcome is then not posted, and a report is not posted after a short outcome either.
  await deps.announcer.post(outcomeKey(run), { channel: run.channel, threadTs: run.threadTs, ...report });

  const policy = restartPolicyOf(deps.config, run.recipe);
  const decision = policy ? decideAutoRestart(policy, classification.failureClass, run) : undefined;
  if (decision?.restart) {
    const restart = await restartAutomatically(deps, run, decision);
    if (restart.outcome === 'restarted' || restart.outcome === 'superseded') {
      return { handled: true, run, classification, decision, restart, paged: false };
    }
    log.warn({ outcome: restart.outcome }, 'automatic restart not possible; paging on-call');
    await deps.pager.pageFailure(run, classification.failureClass);
    return { handled: true, run, classification, decision, restart, paged: true };
  }

  const label = failureLabel(deps.t, classification.failureClass);
  const extraLine =
    decision && !decision.restart && decision.reason === 'budget_exhausted'
      ? deps.t('oncall.budgetExhausted', { runId: run.id, max: decision.maxAutoRestarts })
      : deps.t('restart.notRetried', { label });
  await deps.pager.pageFailure(run, classification.failureClass, extraLine);
  return { handled: true, run, classification, ...(decision ? { decision } : {}), paged: true };
}

/** Builds the input for an attempt whose outcome is already stored (a re-delivered job, run recovery). */
export function failureInputFromRecord(run: RunRecord): RunFailureInput {
  return {
    runId: run.id,
    attempt: run.attempt,
    endEvent: null,
    exitCode: run.exitCode ?? null,
    hostReachable: run.status !== 'lost',
    ...(run.failureClass ? { classification: { failureClass: run.failureClass, detail: run.failureMessage ?? '' } } : {}),
  };
}

/** Stores the end of the attempt: final status, class, exit code, and the attempt's record. */
async function recordFailure(
  deps: FailureDeps,
  run: RunRecord,
  classification: FailureClassification,
  exitCode: number | null,
): Promise<RunRecord> {
  const endedAt = deps.clock.now().toISOString();
  const targetStatus = finalStatusFor(classification.failureClass);

  return deps.store.update(run.id, (current) => {
    if (current.attempt !== run.attempt) return undefined;
    // The worker may already have stored the final status (`lost` for an evicted VM too): keep it and add the class.
    const status = isActiveStatus(current.status) ? targetStatus : current.status;
    const attempts = current.attempts.map((attempt) =>
      attempt.attempt === current.attempt
        ? {
            ...attempt,
            endedAt: attempt.endedAt ?? endedAt,
            status,
            failureClass: classification.failureClass,
            reason: classification.detail,
          }
        : attempt,
    );
    return {
      status,
      failureClass: classification.failureClass,
      failureMessage: classification.detail,
      ...(exitCode === null ? {} : { exitCode }),
      endedAt: current.endedAt ?? endedAt,
      attempts,
    };
  });
}

async function restartAutomatically(
  deps: FailureDeps,
  run: RunRecord,
  decision: Extract<AutoRestartDecision, { restart: true }>,
): Promise<RestartOutcome> {
  if (decision.startVmFirst) {
    // The run job starts a deallocated VM before it launches (ensureVmRunning), so
    // this only announces it. Starting the VM here would also bill the wait.
    await deps.announcer.post(`run:${run.id}:evicted-start:a${run.attempt}`, {
      channel: run.channel,
      threadTs: run.threadTs,
      text: deps.t('restart.autoStartVm', { vm: run.vm }),
    });
  }

  return restartRun(deps, {
    runId: run.id,
    from: { kind: 'latest' },
    actor: AUTO_RESTART_ACTOR,
    expectedAttempt: run.attempt,
    delayMs: decision.waitSeconds * 1000,
    announcement: (restarted, fromText) =>
      deps.t('restart.auto', {
        runId: restarted.id,
        number: decision.autoRestartNumber,
        max: decision.maxAutoRestarts,
        seconds: decision.waitSeconds,
        attempt: restarted.attempt,
        from: fromText,
      }),
  });
}

function restartPolicyOf(config: Config, recipeName: string): RestartPolicy | undefined {
  const recipe = config.recipes[recipeName];
  return recipe && 'restart' in recipe ? recipe.restart : undefined;
}

async function readPowerState(
  deps: FailureDeps,
  vmName: string,
  hostReachable: boolean,
  exitCode: number | null,
): Promise<PowerState | undefined> {
  // Azure is asked only when the host is unreachable or the process left no exit code.
  if (hostReachable && exitCode !== null) return undefined;
  if (!deps.vmControl.isManaged(vmName)) return undefined;
  try {
    return await deps.vmControl.getPowerState(vmName);
  } catch (error) {
    deps.logger.warn({ err: error, vm: vmName }, 'could not read VM power state while classifying a failure');
    return undefined;
  }
}

async function readLogTailQuietly(deps: FailureDeps, run: RunRecord, hostReachable: boolean): Promise<string> {
  if (!hostReachable) return '';
  try {
    return await deps.readLogTail(run);
  } catch (error) {
    deps.logger.warn({ err: error, runId: run.id }, 'could not read train.log for the failure report');
    return '';
  }
}

/** Bytes read from the end of train.log: enough for the report's 20 lines. */
const LOG_TAIL_BYTES = 16 * 1024;

/** Reads the end of `<workdir>/runs/<id>/train.log` on the run's VM. */
export function logTailReader(config: Config, hosts: HostProvider): (run: RunRecord) => Promise<string> {
  return async (run) => {
    const vm = config.vms[run.vm];
    if (!vm) return '';
    const host = await hosts.get(run.vm);
    const path = await host.resolvePath(`${runDirOf(vm, run.id)}/train.log`);
    const head = await host.readFileRange(path, 0, 0);
    if (!head.exists) return '';
    const offset = Math.max(0, head.size - LOG_TAIL_BYTES);
    const { data } = await host.readFileRange(path, offset, LOG_TAIL_BYTES);
    const text = data.toString('utf8');
    // Drop the first, probably partial, line unless the read started at the file's start.
    return offset > 0 ? text.slice(text.indexOf('\n') + 1) : text;
  };
}
