import type { Logger } from 'pino';

import type { ChatPort } from '../bot/chat-port.js';
import type { Translate } from '../bot/i18n.js';
import type { Config, Locale } from '../config/schema.js';
import type { Clock } from '../jobs/clock.js';
import type { OverrideValue, RunKind, RunRecord } from '../jobs/run-types.js';
import type { CommandRegistry } from './registry.js';

/**
 * The ports every command handler receives. Features that need more (VM control, the
 * plan store, on-call) add an optional field with module augmentation in their own file:
 *
 *   declare module './deps.js' {
 *     interface HandlerDeps { vmControl?: VmControl }
 *   }
 *
 * and the runtime fills it in; a handler whose port is missing replies that the feature
 * is not configured instead of throwing.
 */
export interface HandlerDeps {
  readonly config: Config;
  readonly runStore: RunReader;
  readonly runControl: RunControl;
  readonly enqueue: EnqueueRun;
  readonly chat: ChatPort;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly translate: (locale: Locale) => Translate;
  /** The registered commands, for `/help` and name suggestions. */
  readonly registry: CommandRegistry;
}

/** Reads of the run records in Redis (implemented by the jobs' RunStore). */
export interface RunReader {
  get(id: string): Promise<RunRecord | undefined>;
  /** Runs in an active status, in any order. */
  listActive(): Promise<RunRecord[]>;
  /** The latest `limit` runs whatever their status, newest first. */
  listRecent(limit: number): Promise<RunRecord[]>;
  /** The run whose thread root is `channel`/`threadTs`. */
  findByThread(channel: string, threadTs: string): Promise<RunRecord | undefined>;
}

export type CancelOutcome =
  | { outcome: 'cancelled'; run: RunRecord }
  | { outcome: 'already_final'; run: RunRecord }
  | { outcome: 'not_found' };

/** Actions on a running run (implemented in src/jobs). */
export interface RunControl {
  /** Sends SIGTERM to the run's process (or drops the queued job) and marks it cancelled. */
  cancelRun(runId: string, byUserId: string): Promise<CancelOutcome>;
  /** The last `lines` lines of the run's train.log; empty when nothing was written yet. */
  readRunLog(runId: string, lines: number): Promise<{ text: string; exists: boolean }>;
}

/** What a person asked to run, after parsing and permission checks. */
export interface RunRequest {
  kind: RunKind;
  recipe: string;
  vm: string;
  userId: string;
  channel: string;
  /** Validated overrides keyed by trainer option name. */
  overrides: Record<string, OverrideValue>;
  planItem?: string;
  sourceRunId?: string;
}

/** Stores a new run, posts its thread root and queues its job; returns the stored record. */
export type EnqueueRun = (request: RunRequest) => Promise<RunRecord>;
