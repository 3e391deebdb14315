import type { FailureClass } from '../config/schema.js';
import type { StageSummary } from './run-stages.js';

/**
 * A run's life: queued -> starting_vm -> syncing -> running -> succeeded | failed |
 * cancelled, with `lost` when the host stays unreachable past the configured limit and
 * `restarting` while a run is resumed. Deployments stay in `serving` while healthy.
 */
export type RunStatus =
  | 'queued'
  | 'starting_vm'
  | 'syncing'
  | 'running'
  | 'serving'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'lost'
  | 'restarting';

export type RunKind = 'train' | 'deploy' | 'dataset' | 'bench';

export const ACTIVE_STATUSES: readonly RunStatus[] = ['queued', 'starting_vm', 'syncing', 'running', 'serving', 'restarting'];
export const FINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled', 'lost'];

export type OverrideValue = string | number | boolean;

/** How one attempt of a run ended. */
export interface AttemptRecord {
  attempt: number;
  /** When the attempt was created: the run's creation or the restart. */
  startedAt: string;
  /** When the launcher first started the attempt's process; its running time counts from here. */
  launchedAt?: string;
  endedAt?: string;
  status?: RunStatus;
  failureClass?: FailureClass;
  resumedFrom?: string | null;
  reason?: string;
  startedBy: string;
}

/** The run as stored in Redis (`<prefix>:run:<id>`), the single source of truth. */
export interface RunRecord {
  /** Decimal id shown to people as `#42`. */
  id: string;
  kind: RunKind;
  recipe: string;
  vm: string;
  /** Slack user who started the run. */
  userId: string;
  channel: string;
  /** Timestamp of the thread root message, once posted. */
  threadTs?: string;
  overrides: Record<string, OverrideValue>;
  planItem?: string;
  /** Run id whose output a deploy serves (`/deploy x on vm from #42`). */
  sourceRunId?: string;
  status: RunStatus;
  attempt: number;
  attempts: AttemptRecord[];
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  endedAt?: string;
  /** Byte offset in events.jsonl up to which events have been applied. */
  eventOffset: number;
  step?: number;
  maxSteps?: number;
  epoch?: number;
  loss?: number;
  learningRate?: number;
  stage?: string;
  stageIndex?: number;
  stageCount?: number;
  /** What each stage of the run reported last, in chain order. */
  stages?: StageSummary[];
  lastCheckpoint?: { step: number; path: string };
  outputPath?: string;
  exitCode?: number;
  failureClass?: FailureClass;
  failureMessage?: string;
  /** Checkpoint the current attempt resumes from: a path, `latest` or `scratch`. */
  resumeFrom?: string;
  /** Slack user who pressed cancel; the run ends `cancelled` rather than `failed`. */
  cancelRequestedBy?: string;
  /** Remote folder of the synced trainer code, put on PYTHONPATH. */
  codeDir?: string;
  /** When the launcher started (or re-attached to) the current attempt's process. */
  launchedAt?: string;
  /** Since when the host has been unreachable, while the worker keeps retrying. */
  unreachableSince?: string;
  /** First step event of the current attempt or stage, with its trainer time: the origin of the step rate behind the ETA. */
  stepRateOrigin?: { step: number; time: string };
  /** Trainer time of the latest step event. */
  lastStepTime?: string;
  /** The last progress reply queued for the thread (trainer time), for throttling and the loss change. */
  lastProgress?: { step: number; loss?: number; at: string };
  /**
   * Thread replies decided in the same Redis write as the events that caused them and
   * not yet posted. A worker that dies between the write and the post leaves them
   * here, and the next worker posts them (each is keyed, so none is posted twice).
   */
  outbox?: OutboxItem[];
  /** Deploy run queued by the recipe's `deployAfter` when this training run succeeded. */
  deployRunId?: string;
  /** A deployment's server: its port from launch, endpoint and models once healthy. */
  deployment?: DeploymentInfo;
}

export interface DeploymentInfo {
  port: number;
  endpoint?: string;
  models?: string[];
  smokeLatencyMs?: number;
  /** Run id of the deployment this one replaced once healthy. */
  replaced?: string;
}

/** One thread reply waiting to be posted; `key` is its announcement key. */
export type OutboxItem =
  | {
      key: string;
      type: 'progress';
      step: number;
      maxSteps?: number;
      loss?: number;
      lossChange?: number;
      learningRate?: number;
      epoch?: number;
      stage?: string;
      /** RL stages: mean and standard deviation of the reward, and KL to the reference. */
      rewardMean?: number;
      rewardStd?: number;
      kl?: number;
    }
  | { key: string; type: 'checkpoint'; step: number; path: string }
  | { key: string; type: 'eval'; step: number; metrics: Record<string, number> }
  | {
      key: string;
      /** Rows of the training data left out, from the start event's `data_report`. */
      type: 'data_warning';
      /** Rows read, including invalid ones. */
      rows: number;
      /** Rows without every required field. */
      invalid: number;
      /** Valid rows the length policy dropped, by reason (`over_max_length`). */
      dropped: Record<string, number>;
      /** Rows training uses (the start event's `train_rows`). */
      trainRows?: number;
      /** `max_length` in tokens the lengths were measured against. */
      maxLength?: number;
    };
