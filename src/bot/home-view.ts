import type { Locale } from '../config/schema.js';
import type { PlanItem } from '../commands/plan-types.js';
import { formatDue, formatWeek, type WeekKey } from '../commands/plan-week.js';
import { runStatusLabel } from '../jobs/run-reporter.js';
import type { RunRecord } from '../jobs/run-types.js';
import type { Block } from './chat-port.js';
import { contextLine, divider, header, section } from './blocks.js';
import type { Translate } from './i18n.js';
import { planLine } from './plan-view.js';

/**
 * The App Home tab: this week's plan, one section per item, and the active runs. Home
 * tabs take up to 100 blocks; the plan and the runs are each capped so both fit.
 */
export interface HomeViewOptions {
  week: WeekKey;
  items: readonly PlanItem[];
  runs: readonly RunRecord[];
  now: Date;
  timeZone: string;
  locale: Locale;
  t: Translate;
}

const MAX_ITEM_BLOCKS = 60;
const MAX_RUN_BLOCKS = 30;

export function renderHome(options: HomeViewOptions): { type: 'home'; blocks: Block[] } {
  const { t } = options;
  const blocks: Block[] = [header(t('plan.home.title'))];

  blocks.push(section(t('plan.home.plan', { week: formatWeek(options.week, options.timeZone, options.locale) })));
  if (options.items.length === 0) blocks.push(section(t('plan.view.empty')));
  for (const item of options.items.slice(0, MAX_ITEM_BLOCKS)) blocks.push(section(planLine(item, options)));

  blocks.push(divider(), section(t('plan.home.runs')));
  if (options.runs.length === 0) blocks.push(section(t('plan.home.no_runs')));
  const runs = [...options.runs].sort((a, b) => Number(b.id) - Number(a.id)).slice(0, MAX_RUN_BLOCKS);
  for (const run of runs) blocks.push(section(runLine(run, t)));

  blocks.push(contextLine(t('plan.home.updated', { time: formatDue(options.now, options.timeZone, options.locale) })));
  return { type: 'home', blocks };
}

function runLine(run: RunRecord, t: Translate): string {
  const progress =
    run.step !== undefined && run.maxSteps !== undefined && run.maxSteps > 0
      ? ` · ${run.step}/${run.maxSteps} (${Math.floor((run.step / run.maxSteps) * 100)}%)`
      : '';
  const plan = run.planItem ? ` · ${run.planItem}` : '';
  return t('plan.home.run', { id: run.id, recipe: run.recipe, vm: run.vm, status: runStatusLabel(run, t), progress: `${progress}${plan}` });
}
