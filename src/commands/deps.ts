import type { Logger } from 'pino';

import type { ChatPort } from '../bot/chat-port.js';
import type { Translate } from '../bot/i18n.js';
import type { Config, Locale } from '../config/schema.js';
import type { Clock } from '../jobs/clock.js';
import type { RunControl } from '../jobs/run-control.js';
import type { RunStore } from '../jobs/run-store.js';
import type { OverrideValue, RunKind, RunRecord } from '../jobs/run-types.js';
import type { HostProvider } from '../remote/host.js';
import type { VmControl } from '../remote/vm-control.js';
import type { CommandRegistry } from './registry.js';

/**
 * The ports every command handler receives. A feature that needs another port (the
 * plan store, on-call) adds an optional field here, or with module augmentation in its
 * own file:
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
  /** Run records in Redis. */
  readonly runStore: RunStore;
  /** Cancel, restart and log reads of runs on their hosts. */
  readonly runControl: RunControl;
  readonly enqueue: EnqueueRun;
  readonly chat: ChatPort;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly translate: (locale: Locale) => Translate;
  /** The registered commands, for `/help` and name suggestions. */
  readonly registry: CommandRegistry;
  /** VM power control (Azure, or always-on for VMs without an azure section). */
  readonly vmControl?: VmControl;
  /** Hosts of the VMs, for commands that look at a VM directly. */
  readonly hosts?: HostProvider;
}

/** The run reads that listing commands need; the Redis RunStore provides them. */
export type RunReader = Pick<RunStore, 'get' | 'listActive' | 'listRecent' | 'findByThread'>;

/** A person's request for a run, after parsing and permission checks. */
export interface RunRequest {
  kind: RunKind;
  recipe: string;
  vm: string;
  userId: string;
  channel: string;
  /** Validated overrides keyed by the recipe's override name (`lr`). */
  overrides: Record<string, OverrideValue>;
  planItem?: string;
  sourceRunId?: string;
}

/** Stores a new run, posts its thread root and queues its job; returns the stored record. */
export type EnqueueRun = (request: RunRequest) => Promise<RunRecord>;
