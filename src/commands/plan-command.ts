import { PLAN_ACTIONS, renderImportPreview } from '../bot/plan-import-view.js';
import { renderPlan } from '../bot/plan-view.js';
import type { LinkableRun, LinkOutcome } from '../jobs/plan-links.js';
import type { PlanStore } from '../jobs/plan-store.js';
import type { RunRecord } from '../jobs/run-types.js';
import type { CommandContext } from './context.js';
import type { HandlerDeps } from './deps.js';
import { parsePlanMessage, type PlanImport } from './plan-import.js';
import { parsePlan, type PlanCommand, type PlanFields } from './plan-parse.js';
import { inferKind, type PlanItem, type PlanItemDraft, type PlanItemKind } from './plan-types.js';
import { formatDue, shiftWeek, weekKeyOf, type WeekKey } from './plan-week.js';
import { defineCommand, type ActionRequest, type ActionSpec } from './registry.js';

/** The plan's ports, filled in by the runtime (`src/main.ts`). */
export interface PlanPorts {
  store: PlanStore;
  /** Schedules the reminders of a saved or changed item. */
  scheduleReminders(item: PlanItem): Promise<void>;
  /** Refreshes the App Home tabs after the plan changed. */
  planChanged(): Promise<void>;
  /** Links a new run to its plan item (`for 2.1`, or an open item with its recipe and VM). */
  linkRunToPlan(run: LinkableRun): Promise<LinkOutcome>;
  /** Posts in the run's thread which plan item the run is linked to. */
  postLinkInThread(run: RunRecord, item: PlanItem, automatic: boolean): Promise<void>;
}

declare module './deps.js' {
  interface HandlerDeps {
    plan?: PlanPorts;
  }
}

/** A pending import, stored until its confirm or cancel button is clicked. */
interface ImportDraft {
  week: WeekKey;
  userId: string;
  items: PlanItemDraft[];
}

const LABELS: Readonly<Record<-1 | 0 | 1, string>> = { [-1]: 'plan.view.last_week', 0: 'plan.view.this_week', 1: 'plan.view.next_week' };

/** `/plan`: shows and edits the weekly plan, and imports the team's weekly message. */
export const planCommand = defineCommand<PlanCommand>({
  name: 'plan',
  aliases: ['计划'],
  helpKey: 'plan.help',
  parse: parsePlan,
  async handle(command, ctx, deps) {
    const plan = deps.plan;
    if (!plan) {
      await ctx.respond(ctx.t('core.error.not_configured', { port: 'plan' }));
      return;
    }
    switch (command.action) {
      case 'show':
        return showPlan(command.weekOffset, ctx, deps, plan);
      case 'add':
        return addItem(command, ctx, deps, plan);
      case 'edit':
        return editItem(command.number, command.fields, ctx, deps, plan);
      case 'done':
        return markDone(command.number, ctx, deps, plan);
      case 'remove':
        return removeItem(command.number, ctx, deps, plan);
      case 'import':
        return previewImport(command.text, ctx, deps, plan);
    }
  },
});

async function showPlan(offset: -1 | 0 | 1, ctx: CommandContext, deps: HandlerDeps, plan: PlanPorts): Promise<void> {
  const timeZone = deps.config.timezone;
  const week = shiftWeek(weekKeyOf(ctx.now, timeZone), offset, timeZone);
  const items = await plan.store.list(week);
  const rendered = renderPlan({ week, labelKey: LABELS[offset], items, now: ctx.now, timeZone, locale: ctx.locale, t: ctx.t });
  await ctx.respond(rendered);
}

async function addItem(command: Extract<PlanCommand, { action: 'add' }>, ctx: CommandContext, deps: HandlerDeps, plan: PlanPorts): Promise<void> {
  const { fields } = command;
  const timeZone = deps.config.timezone;
  // An item belongs to the week of its due time, so `due 下周二` lands in next week's plan.
  const week = weekKeyOf(new Date(fields.due.due), timeZone);
  const draft: Omit<PlanItemDraft, 'number'> = {
    title: fields.title,
    due: fields.due.due,
    dueText: fields.due.text,
    kind: kindOf(fields, deps),
    ...(fields.due.rangeStart ? { rangeStart: fields.due.rangeStart } : {}),
    ...(fields.owner ? { owner: fields.owner } : {}),
    ...(fields.vm ? { vm: fields.vm } : {}),
    ...(fields.recipe ? { recipe: fields.recipe } : {}),
  };

  const item = command.number
    ? await plan.store.add(week, { ...draft, number: command.number }, ctx.userId)
    : await plan.store.addNumbered(week, draft, ctx.userId);
  if (!item) {
    await ctx.respond(ctx.t('plan.error.number_exists', { week, number: command.number }));
    return;
  }

  ctx.logger.info({ week, item: item.number }, 'plan item added');
  await plan.scheduleReminders(item);
  await plan.planChanged();
  await ctx.respond(ctx.t('plan.added', { number: item.number, title: item.title, due: formatDue(new Date(item.due), timeZone, ctx.locale) }));
}

async function editItem(number: string, fields: PlanFields, ctx: CommandContext, deps: HandlerDeps, plan: PlanPorts): Promise<void> {
  const week = await findWeekOf(number, ctx, deps, plan);
  if (!week) return notFound(number, ctx, deps);

  // NOTE: an edited due time keeps the item in the week it was planned in, even when
  // the new time falls in another week.
  const item = await plan.store.update({ week, number }, (current) => ({
    ...current,
    ...(fields.title ? { title: fields.title } : {}),
    ...(fields.due ? { due: fields.due.due, dueText: fields.due.text, rangeStart: fields.due.rangeStart } : {}),
    ...(fields.owner ? { owner: fields.owner } : {}),
    ...(fields.vm ? { vm: fields.vm } : {}),
    ...(fields.recipe ? { recipe: fields.recipe } : {}),
  }));
  if (!item) return notFound(number, ctx, deps);

  ctx.logger.info({ week, item: number, fields: Object.keys(fields) }, 'plan item edited');
  await plan.scheduleReminders(item);
  await plan.planChanged();
  const changes = [
    fields.title ? ctx.t('plan.edited.title', { title: item.title }) : undefined,
    fields.due ? ctx.t('plan.edited.due', { due: formatDue(new Date(item.due), deps.config.timezone, ctx.locale) }) : undefined,
    fields.owner ? ctx.t('plan.edited.owner', { owner: `<@${fields.owner}>` }) : undefined,
    fields.vm ? ctx.t('plan.edited.vm', { vm: fields.vm }) : undefined,
    fields.recipe ? ctx.t('plan.edited.recipe', { recipe: fields.recipe }) : undefined,
  ].filter((change): change is string => change !== undefined);
  await ctx.respond(ctx.t('plan.edited', { number, title: item.title, changes: changes.join(ctx.t('core.list_separator')) }));
}

async function markDone(number: string, ctx: CommandContext, deps: HandlerDeps, plan: PlanPorts): Promise<void> {
  const week = await findWeekOf(number, ctx, deps, plan);
  if (!week) return notFound(number, ctx, deps);

  let alreadyDone = false;
  const item = await plan.store.update({ week, number }, (current) => {
    alreadyDone = current.status === 'done';
    if (alreadyDone) return undefined;
    const next: PlanItem = { ...current, status: 'done', doneAt: ctx.now.toISOString() };
    delete next.eta;
    return next;
  });
  if (!item) return notFound(number, ctx, deps);

  if (!alreadyDone) {
    ctx.logger.info({ week, item: number }, 'plan item done');
    await plan.planChanged();
  }
  await ctx.respond(ctx.t(alreadyDone ? 'plan.done_already' : 'plan.done', { number, title: item.title }));
}

async function removeItem(number: string, ctx: CommandContext, deps: HandlerDeps, plan: PlanPorts): Promise<void> {
  const week = await findWeekOf(number, ctx, deps, plan);
  const item = week ? await plan.store.remove({ week, number }) : undefined;
  if (!item) return notFound(number, ctx, deps);

  ctx.logger.info({ week, item: number }, 'plan item removed');
  await plan.planChanged();
  await ctx.respond(ctx.t('plan.removed', { number, title: item.title }));
}

async function previewImport(text: string, ctx: CommandContext, deps: HandlerDeps, plan: PlanPorts): Promise<void> {
  const { config } = deps;
  const week = weekKeyOf(ctx.now, config.timezone);
  const result: PlanImport = parsePlanMessage(text, {
    now: ctx.now,
    timeZone: config.timezone,
    dueHour: config.plan.dueHour,
    author: ctx.userId,
    vmNames: Object.keys(config.vms),
    recipes: config.recipes,
    members: config.team.members,
  });

  const draft: ImportDraft = { week, userId: ctx.userId, items: result.items.map(toDraft) };
  const draftId = result.items.length > 0 ? await plan.store.saveImportDraft(draft) : '';
  ctx.logger.info({ week, items: result.items.length, unread: result.unread.length }, 'plan import read');
  await ctx.respond(renderImportPreview({ result, week, draftId, timeZone: config.timezone, locale: ctx.locale, t: ctx.t }));
}

/**
 * Handles the import preview buttons: saves the pending import on confirm, drops it on
 * cancel. Each pending import is taken once, so a double click saves once.
 */
export async function handlePlanImportAction(
  action: 'confirm' | 'cancel',
  draftId: string,
  ctx: Pick<CommandContext, 'userId' | 't' | 'logger' | 'respond'>,
  plan: PlanPorts,
): Promise<void> {
  const draft = await plan.store.takeImportDraft<ImportDraft>(draftId);
  if (!draft) {
    await ctx.respond(ctx.t('plan.import.expired'));
    return;
  }
  if (action === 'cancel') {
    await ctx.respond(ctx.t('plan.import.cancelled'));
    return;
  }

  const saved = await plan.store.saveImported(draft.week, draft.items, ctx.userId);
  for (const item of saved) await plan.scheduleReminders(item);
  ctx.logger.info({ week: draft.week, items: saved.length }, 'plan import saved');
  await plan.planChanged();
  await ctx.respond(ctx.t('plan.import.saved', { count: saved.length, week: draft.week }));
}

/** Finds the week of an item by number: this week, then an open item of last week, then next week. */
async function findWeekOf(number: string, ctx: CommandContext, deps: HandlerDeps, plan: PlanPorts): Promise<WeekKey | undefined> {
  const timeZone = deps.config.timezone;
  const thisWeek = weekKeyOf(ctx.now, timeZone);
  if (await plan.store.get({ week: thisWeek, number })) return thisWeek;

  const lastWeek = shiftWeek(thisWeek, -1, timeZone);
  const late = await plan.store.get({ week: lastWeek, number });
  if (late && late.status !== 'done') return lastWeek;

  const nextWeek = shiftWeek(thisWeek, 1, timeZone);
  if (await plan.store.get({ week: nextWeek, number })) return nextWeek;
  return undefined;
}

async function notFound(number: string, ctx: CommandContext, deps: HandlerDeps): Promise<void> {
  await ctx.respond(ctx.t('plan.error.not_found', { week: weekKeyOf(ctx.now, deps.config.timezone), number }));
}

function kindOf(fields: PlanFields & { title: string }, deps: HandlerDeps): PlanItemKind {
  const recipe = fields.recipe ? deps.config.recipes[fields.recipe] : undefined;
  if (recipe?.kind === 'train') return recipe.deployAfter && inferKind(fields.title) === 'train_deploy' ? 'train_deploy' : 'train';
  if (recipe?.kind === 'deploy') return 'deploy';
  if (recipe?.kind === 'dataset') return 'dataset';
  return inferKind(fields.title);
}

function toDraft(item: PlanImport['items'][number]): PlanItemDraft {
  const { line: _line, warnings: _warnings, ...draft } = item;
  return draft;
}

/**
 * Links a newly queued run to the plan and announces the link in the run's thread.
 * Returns the sentence for the person's reply, or undefined when the run is not linked
 * and no item was named. `/train` calls it after enqueueing; runs created elsewhere are
 * linked by the plan runtime when their first change arrives.
 */
export async function announcePlanLink(run: RunRecord, ctx: Pick<CommandContext, 't' | 'locale' | 'logger'>, deps: HandlerDeps): Promise<string | undefined> {
  if (!deps.plan) return undefined;
  let outcome: LinkOutcome;
  try {
    outcome = await deps.plan.linkRunToPlan(run);
  } catch (error) {
    ctx.logger.warn({ err: error, runId: run.id }, 'linking the run to the plan failed');
    return undefined;
  }
  if (outcome.outcome === 'none') return undefined;
  if (outcome.outcome === 'not_found') return ctx.t('plan.link.not_found', { number: outcome.number });

  const due = formatDue(new Date(outcome.item.due), deps.config.timezone, ctx.locale);
  const text = ctx.t(outcome.automatic ? 'plan.link.auto' : 'plan.link.linked', { number: outcome.item.number, title: outcome.item.title, due });
  await deps.plan.postLinkInThread(run, outcome.item, outcome.automatic).catch((error: unknown) => {
    ctx.logger.warn({ err: error, runId: run.id }, 'posting the plan link in the run thread failed');
  });
  return text;
}

function importAction(actionId: string, action: 'confirm' | 'cancel'): ActionSpec {
  return {
    actionId,
    async handle(request: ActionRequest, deps: HandlerDeps): Promise<void> {
      if (!deps.plan) {
        deps.logger.warn({ actionId }, 'plan import button ignored: no plan port');
        return;
      }
      const locale = deps.config.team.members.find((member) => member.id === request.userId)?.locale ?? deps.config.locale;
      const logger = deps.logger.child({ user: request.userId });
      await handlePlanImportAction(action, request.value, { userId: request.userId, t: deps.translate(locale), logger, respond: (reply) => request.respond(reply) }, deps.plan);
    },
  };
}

export const planImportConfirmAction = importAction(PLAN_ACTIONS.importConfirm, 'confirm');
export const planImportCancelAction = importAction(PLAN_ACTIONS.importCancel, 'cancel');
