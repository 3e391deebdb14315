/**
 * Links runs to plan items and moves the items along with their runs:
 *
 * - `linkRunToPlan(run)` when a run is created: `/train ... for 2.1` names the item.
 *   Otherwise an open item of this week with the run's recipe and VM is linked
 *   automatically. The caller tells the person which item was linked.
 * - `onRunStatusChanged(run)` after every stored transition: the item becomes
 *   in progress when its run starts, and done when the run succeeds. For a
 *   train-and-deploy item the training success only marks it trained. Such an item is
 *   done when its deployment (a deploy run linked to it, or one whose source run is
 *   linked) is serving or succeeded.
 * - `onRunProgress(run, eta)` on progress: stores progress and ETA on the item and, the
 *   first time the ETA passes the due time, warns in the run's thread and the owner.
 */
import type { Logger } from 'pino';

import type { ChatPort } from '../bot/chat-port.js';
import { translator } from '../bot/i18n.js';
import type { Config } from '../config/schema.js';
import type { PlanItem } from '../commands/plan-types.js';
import { formatClockTime, formatDue, formatDuration, weekKeyOf, shiftWeek } from '../commands/plan-week.js';
import type { Clock } from './clock.js';
import type { PlanItemRef, PlanStore } from './plan-store.js';
import { estimateRemainingMs } from './run-reporter.js';
import type { RunRecord, RunStatus } from './run-types.js';

export type LinkOutcome =
  | { outcome: 'linked'; item: PlanItem; automatic: boolean }
  | { outcome: 'not_found'; number: string }
  | { outcome: 'none' };

export interface PlanLinkerDeps {
  store: PlanStore;
  chat: ChatPort;
  clock: Clock;
  config: Pick<Config, 'timezone' | 'locale' | 'recipes' | 'team'>;
  logger: Logger;
  /** Called after an item changed, to refresh the App Home tabs. */
  onPlanChanged?: () => Promise<void>;
}

/** The run fields linking reads; a full RunRecord fits. */
export type LinkableRun = Pick<RunRecord, 'id' | 'kind' | 'recipe' | 'vm' | 'userId'> &
  Partial<Pick<RunRecord, 'planItem' | 'sourceRunId'>>;

const STARTED: readonly RunStatus[] = ['starting_vm', 'syncing', 'running', 'restarting'];
const UNSUCCESSFUL: readonly RunStatus[] = ['failed', 'cancelled', 'lost'];

export class PlanLinker {
  constructor(private readonly deps: PlanLinkerDeps) {}

  /** Links a new run to its plan item, named or matched; call once when the run is created. */
  async linkRunToPlan(run: LinkableRun): Promise<LinkOutcome> {
    const ref = await this.findItemFor(run);
    if (ref.outcome !== 'found') return ref.outcome === 'not_found' ? { outcome: 'not_found', number: ref.number } : { outcome: 'none' };

    const item = await this.deps.store.update(ref.ref, (current) =>
      current.runIds.includes(run.id) ? undefined : withNewRun(current, run.id),
    );
    if (!item) return { outcome: 'none' };

    await this.deps.store.setRunLink(run.id, ref.ref);
    this.deps.logger.info({ runId: run.id, week: item.week, item: item.number, automatic: ref.automatic }, 'run linked to plan item');
    await this.changed();
    return { outcome: 'linked', item, automatic: ref.automatic };
  }

  /** Moves the linked item along with the run; returns the item when it changed. */
  async onRunStatusChanged(run: RunRecord): Promise<PlanItem | undefined> {
    const ref = await this.deps.store.findRunLink(run.id);
    if (!ref) return undefined;
    const now = this.deps.clock.now().toISOString();

    let changed = false;
    const item = await this.deps.store.update(ref, (current) => {
      changed = false;
      if (current.status === 'done') return undefined;
      if (current.lastRunStatus === run.status && current.activeRunId === run.id) return undefined;
      changed = true;
      const next: PlanItem = { ...current, lastRunStatus: run.status, activeRunId: run.id };

      if (STARTED.includes(run.status)) next.status = 'in_progress';
      if (run.status === 'succeeded' || (run.status === 'serving' && run.kind === 'deploy')) {
        if (current.kind === 'train_deploy' && run.kind === 'train') {
          next.trainedAt = now;
          next.status = 'in_progress';
        } else {
          next.status = 'done';
          next.doneAt = now;
        }
        delete next.eta;
      }
      if (UNSUCCESSFUL.includes(run.status)) {
        next.status = current.trainedAt ? 'in_progress' : 'todo';
        delete next.eta;
      }
      return next;
    });

    if (item && changed) {
      this.deps.logger.info({ runId: run.id, item: item.number, status: item.status, runStatus: run.status }, 'plan item follows run');
      await this.changed();
      return item;
    }
    return undefined;
  }

  /**
   * Stores the run's progress and ETA on its item. When the ETA passes the due time
   * it warns once, in the run's thread and to the owner, whatever the number of updates.
   * Without `eta`, the ETA is estimated from the run's step rate. Returns whether the
   * item's progress or ETA changed.
   */
  async onRunProgress(run: RunRecord, eta?: Date): Promise<boolean> {
    const ref = await this.deps.store.findRunLink(run.id);
    if (!ref) return false;

    // The step rate's remaining time counts from the last step, not from now.
    const remaining = eta ? undefined : estimateRemainingMs(run);
    const lastStep = run.lastStepTime ? new Date(run.lastStepTime).getTime() : this.deps.clock.now().getTime();
    const estimated = eta ?? (remaining !== undefined ? new Date(lastStep + remaining) : undefined);
    let changed = false;
    const item = await this.deps.store.update(ref, (current) => {
      changed = false;
      if (current.status === 'done' || !isNewProgress(current, run, estimated)) return undefined;
      changed = true;
      const next: PlanItem = { ...current };
      if (run.step !== undefined && run.maxSteps !== undefined) next.progress = { step: run.step, maxSteps: run.maxSteps };
      if (estimated) next.eta = estimated.toISOString();
      return next;
    });
    if (!item || !estimated || item.status === 'done') return changed;

    const due = new Date(item.due);
    const warningKey = `eta-late:${item.week}:${item.number}:${run.id}`;
    if (estimated.getTime() > due.getTime() && (await this.deps.store.claimOnce(warningKey))) {
      try {
        await this.warnLate(run, item, estimated, due);
      } catch (error) {
        // Released, so the next progress update tries the warning again.
        await this.deps.store.releaseOnce(warningKey);
        throw error;
      }
    }
    return changed;
  }

  /** Posts in the run's thread, in the team's locale, which plan item the run is linked to. */
  async postLinkInThread(run: Pick<RunRecord, 'id' | 'channel' | 'threadTs'>, item: PlanItem, automatic: boolean): Promise<void> {
    if (!run.threadTs) return;
    const { timezone, locale } = this.deps.config;
    const params = { number: item.number, title: item.title, due: formatDue(new Date(item.due), timezone, locale) };
    await this.deps.chat.postMessage({
      channel: run.channel,
      threadTs: run.threadTs,
      text: translator(locale)(automatic ? 'plan.link.auto' : 'plan.link.linked', params),
    });
  }

  private async warnLate(run: RunRecord, item: PlanItem, eta: Date, due: Date): Promise<void> {
    const { timezone, locale } = this.deps.config;
    const t = translator(locale);
    const params = {
      number: item.number,
      title: item.title,
      run: run.id,
      eta: formatClockTime(eta, timezone),
      due: formatDue(due, timezone, locale),
      late: formatDuration((eta.getTime() - due.getTime()) / 60_000, locale),
    };
    const text = t('plan.eta.late', params);
    const owner = item.owner ?? run.userId;

    this.deps.logger.warn({ runId: run.id, item: item.number, eta: eta.toISOString(), due: item.due }, 'run ETA passes plan due time');
    if (run.threadTs) await this.deps.chat.postMessage({ channel: run.channel, threadTs: run.threadTs, text });
    await this.deps.chat.postMessage({ channel: owner, text: t('plan.eta.late_owner', { ...params, owner: `<@${owner}>` }) });
  }

  private async findItemFor(
    run: LinkableRun,
  ): Promise<{ outcome: 'found'; ref: PlanItemRef; automatic: boolean } | { outcome: 'not_found'; number: string } | { outcome: 'none' }> {
    const week = weekKeyOf(this.deps.clock.now(), this.deps.config.timezone);

    if (run.planItem) {
      // The named item is looked up in this week, then in last week for a late item.
      for (const candidate of [week, shiftWeek(week, -1, this.deps.config.timezone)]) {
        const item = await this.deps.store.get({ week: candidate, number: run.planItem });
        if (item && (candidate === week || item.status !== 'done')) return { outcome: 'found', ref: { week: candidate, number: item.number }, automatic: false };
      }
      return { outcome: 'not_found', number: run.planItem };
    }

    if (run.sourceRunId) {
      const source = await this.deps.store.findRunLink(run.sourceRunId);
      if (source) return { outcome: 'found', ref: source, automatic: true };
    }

    const items = await this.deps.store.list(week);
    const open = items.filter((item) => item.status !== 'done' && (!item.vm || item.vm === run.vm));
    const matches = open.filter((item) => item.recipe === run.recipe || this.isDeployOf(item, run));
    if (matches.length !== 1) return { outcome: 'none' };
    return { outcome: 'found', ref: { week, number: matches[0]!.number }, automatic: true };
  }

  /** Tells whether the run deploys what the item's training recipe deploys to (`deployAfter`). */
  private isDeployOf(item: PlanItem, run: LinkableRun): boolean {
    if (run.kind !== 'deploy' || item.kind !== 'train_deploy' || !item.recipe) return false;
    const recipe = this.deps.config.recipes[item.recipe];
    return recipe?.kind === 'train' && recipe.deployAfter === run.recipe;
  }

  private async changed(): Promise<void> {
    try {
      await this.deps.onPlanChanged?.();
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'refreshing views after a plan change failed');
    }
  }
}

/** Progress worth a write: another whole percent, or an ETA that moved by a minute or more. */
function isNewProgress(item: PlanItem, run: RunRecord, eta: Date | undefined): boolean {
  const percent = (step?: number, max?: number): number | undefined => (step !== undefined && max ? Math.floor((step / max) * 100) : undefined);
  if (percent(run.step, run.maxSteps) !== percent(item.progress?.step, item.progress?.maxSteps)) return true;
  if (!eta) return false;
  return !item.eta || Math.abs(new Date(item.eta).getTime() - eta.getTime()) >= 60_000;
}

/** Makes `runId` the item's active run; the previous run's status no longer applies. */
function withNewRun(item: PlanItem, runId: string): PlanItem {
  const next: PlanItem = { ...item, runIds: [...item.runIds, runId], activeRunId: runId };
  delete next.lastRunStatus;
  delete next.progress;
  delete next.eta;
  return next;
}
