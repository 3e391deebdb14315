import type { RunStatus } from '../jobs/run-types.js';
import type { WeekKey } from './plan-week.js';

export type PlanItemKind = 'train' | 'deploy' | 'train_deploy' | 'dataset' | 'other';

/** Stored status. `overdue` is derived from the due time, see `displayStatus`. */
export type PlanItemStatus = 'todo' | 'in_progress' | 'done';
export type PlanDisplayStatus = PlanItemStatus | 'overdue';

/** An item before it is saved: what `/plan add` and `/plan import` produce. */
export interface PlanItemDraft {
  /** `1`, `2.1`: the team's own numbering, unique within a week. */
  number: string;
  title: string;
  /** Due instant, ISO 8601 UTC. */
  due: string;
  /** The due phrase as written (`周二、三完成`). */
  dueText: string;
  /** First day of a due range (`周二、三`), ISO 8601 UTC. */
  rangeStart?: string;
  /** Slack user id. */
  owner?: string;
  vm?: string;
  recipe?: string;
  kind: PlanItemKind;
}

export interface PlanItem extends PlanItemDraft {
  week: WeekKey;
  status: PlanItemStatus;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  doneAt?: string;
  /** Runs linked to the item, oldest first. */
  runIds: string[];
  /** The linked run currently counted for progress and ETA. */
  activeRunId?: string;
  /** Set when the training of a train-and-deploy item succeeded; the deploy is still to come. */
  trainedAt?: string;
  lastRunStatus?: RunStatus;
  /** Progress of the active run: completed steps of max steps. */
  progress?: { step: number; maxSteps: number };
  /** ETA of the active run, ISO 8601 UTC. */
  eta?: string;
}

export function displayStatus(item: Pick<PlanItem, 'status' | 'due'>, now: Date): PlanDisplayStatus {
  if (item.status !== 'done' && new Date(item.due).getTime() < now.getTime()) return 'overdue';
  return item.status;
}

/** Comparison of a linked run's ETA with its item's due time. */
export type EtaMark = 'on_track' | 'at_risk' | 'late';

/** Margin below which an ETA still before the due time counts as at risk. */
export const AT_RISK_MARGIN_MS = 60 * 60 * 1000;

export function etaMark(eta: Date, due: Date): EtaMark {
  const margin = due.getTime() - eta.getTime();
  if (margin < 0) return 'late';
  if (margin < AT_RISK_MARGIN_MS) return 'at_risk';
  return 'on_track';
}

/** Orders plan numbers naturally: 1, 2, 2.1, 2.2, 2.10, 3. */
export function comparePlanNumbers(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let index = 0; index < Math.max(left.length, right.length); index += 1) {
    const difference = (left[index] ?? -1) - (right[index] ?? -1);
    if (difference !== 0) return difference;
  }
  return 0;
}

export function inferKind(title: string): PlanItemKind {
  const text = title.toLowerCase();
  const trains = /训练|微调|train|fine-?tune|sft/.test(text);
  const deploys = /部署|上线|deploy|serve|serving/.test(text);
  if (trains && deploys) return 'train_deploy';
  if (trains) return 'train';
  if (deploys) return 'deploy';
  if (/数据|dataset|data\b/.test(text)) return 'dataset';
  return 'other';
}
