/**
 * The weekly plan in one object, for `src/main.ts`:
 *
 *   const plan = createPlanRuntime({ config, redisUrl, chat, runs: jobs.runStore, logger });
 *   await plan.start();                      // worker role: reminders, digest, plan worker
 *   deps.plan = plan.ports;                  // `/plan` handlers
 *   app.event('app_home_opened', ({ event }) => plan.publishHome(event.user));
 *   runThread hook: (run) => plan.onRunUpdated(run)   // after every stored run change
 *   /train: const link = await plan.linkRunToPlan(run)
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

import type { ChatPort } from '../bot/chat-port.js';
import { translator } from '../bot/i18n.js';
import { renderHome } from '../bot/home-view.js';
import type { PlanPorts } from '../commands/plan-command.js';
import type { RunReader } from '../commands/deps.js';
import { parseDue } from '../commands/plan-dates.js';
import { inferKind } from '../commands/plan-types.js';
import { weekKeyOf } from '../commands/plan-week.js';
import type { Config } from '../config/schema.js';
import { systemClock, type Clock } from './clock.js';
import { PlanLinker, type LinkableRun, type LinkOutcome } from './plan-links.js';
import { PlanStore } from './plan-store.js';
import { PlanJobs } from './plan-worker.js';
import type { RunRecord } from './run-types.js';

export interface PlanRuntimeDeps {
  config: Config;
  redisUrl: string;
  chat: ChatPort;
  runs: Pick<RunReader, 'listActive'>;
  logger: Logger;
  clock?: Clock;
  /** Plan queue name; tests use a fresh one. */
  queueName?: string;
}

export interface PlanRuntime {
  store: PlanStore;
  linker: PlanLinker;
  jobs: PlanJobs;
  ports: PlanPorts;
  /** Seeds the config items, upserts the digest schedulers, schedules reminders and starts the plan worker. */
  start(): Promise<void>;
  /** Publishes a person's App Home tab and keeps it refreshed from now on. */
  publishHome(userId: string): Promise<void>;
  /** Links a new run to its plan item; call once after the run is stored. */
  linkRunToPlan(run: LinkableRun): Promise<LinkOutcome>;
  /** Follows a stored run change: item status, progress, ETA warning, App Home. */
  onRunUpdated(run: RunRecord): Promise<void>;
  close(): Promise<void>;
}

const PROGRESS_REFRESH_MS = 60_000;

export function createPlanRuntime(deps: PlanRuntimeDeps): PlanRuntime {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger.child({ component: 'plan' });
  const { config } = deps;
  const redis = new Redis(deps.redisUrl, { maxRetriesPerRequest: null });
  const store = new PlanStore(redis, config.redisPrefix, clock);

  const publishHome = async (userId: string): Promise<void> => {
    const locale = config.team.members.find((member) => member.id === userId)?.locale ?? config.locale;
    const now = clock.now();
    const week = weekKeyOf(now, config.timezone);
    const [items, runs] = await Promise.all([store.list(week), deps.runs.listActive()]);
    const view = renderHome({ week, items, runs, now, timeZone: config.timezone, locale, t: translator(locale) });
    await deps.chat.publishHome(userId, view);
  };

  // One refresh at a time per process; changes during a refresh trigger one more.
  let refreshing: Promise<void> | undefined;
  let dirty = false;
  const refreshHomes = async (): Promise<void> => {
    if (refreshing) {
      dirty = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        dirty = false;
        for (const userId of await store.listHomeViewers()) {
          try {
            await publishHome(userId);
          } catch (error) {
            logger.warn({ err: error, user: userId }, 'App Home refresh failed');
          }
        }
      } while (dirty);
    })().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };

  // Progress changes every few seconds; the Home tabs follow it at most once a minute per process.
  let lastProgressRefresh = 0;
  const refreshHomesForProgress = async (): Promise<void> => {
    const now = clock.now().getTime();
    if (now - lastProgressRefresh < PROGRESS_REFRESH_MS) return;
    lastProgressRefresh = now;
    await refreshHomes();
  };

  const linker = new PlanLinker({ store, chat: deps.chat, clock, config, logger, onPlanChanged: refreshHomes });
  const jobs = new PlanJobs({ connection: redis, prefix: config.redisPrefix, store, chat: deps.chat, config, clock, logger, ...(deps.queueName ? { queueName: deps.queueName } : {}) });

  return {
    store,
    linker,
    jobs,
    ports: { store, scheduleReminders: (item) => jobs.scheduleReminders(item), planChanged: refreshHomes, linkRunToPlan: (run) => linker.linkRunToPlan(run),
      postLinkInThread: (run, item, automatic) => linker.postLinkInThread(run, item, automatic),
    },
    async start() {
      await seedFromConfig(store, config, clock, logger);
      await jobs.start();
    },
    async publishHome(userId) {
      await store.addHomeViewer(userId);
      await publishHome(userId);
    },
    linkRunToPlan: (run) => linker.linkRunToPlan(run),
    async onRunUpdated(run) {
      // The stored last status separates a status change from a progress update,
      // across processes. Any run's status change changes the Home tab's active runs.
      const previous = await redis.getset(`${config.redisPrefix}:plan:run-status:${run.id}`, run.status);
      await redis.expire(`${config.redisPrefix}:plan:run-status:${run.id}`, 30 * 24 * 3600);

      // Runs not created by /train (deploys, chained deployments) are linked on their first change.
      if (previous === null && !(await store.findRunLink(run.id))) {
        const outcome = await linker.linkRunToPlan(run);
        if (outcome.outcome === 'linked') await linker.postLinkInThread(run, outcome.item, outcome.automatic);
      }

      if (previous !== run.status) {
        const item = await linker.onRunStatusChanged(run);
        if (!item) await refreshHomes();
      }
      if (run.status === 'running' && run.step !== undefined && (await linker.onRunProgress(run))) await refreshHomesForProgress();
    },
    async close() {
      await refreshing;
      await jobs.close();
      redis.disconnect();
    },
  };
}

/**
 * Adds the config's `plan.items` to the current week, once per week across processes
 * (a once-only key), so an item removed with `/plan remove` does not come back on restart.
 * Due phrases are read in the current week, like an imported plan.
 */
async function seedFromConfig(store: PlanStore, config: Config, clock: Clock, logger: Logger): Promise<void> {
  if (config.plan.items.length === 0) return;
  const now = clock.now();
  const week = weekKeyOf(now, config.timezone);
  if (!(await store.claimOnce(`seed:${week}`))) return;

  for (const seed of config.plan.items) {
    const reading = parseDue(seed.due, { now, timeZone: config.timezone, dueHour: config.plan.dueHour, allowPast: true });
    if (!reading.ok) {
      logger.warn({ item: seed.number, due: seed.due, reason: reading.reason }, 'plan seed item skipped: due phrase not understood');
      continue;
    }
    await store.add(
      week,
      {
        number: seed.number,
        title: seed.title,
        due: reading.due.toISOString(),
        dueText: seed.due,
        kind: seed.kind ?? inferKind(seed.title),
        ...(reading.rangeStart ? { rangeStart: reading.rangeStart.toISOString() } : {}),
        ...(seed.owner ? { owner: seed.owner } : {}),
        ...(seed.vm ? { vm: seed.vm } : {}),
        ...(seed.recipe ? { recipe: seed.recipe } : {}),
      },
      'config',
    );
  }
  logger.info({ week, items: config.plan.items.length }, 'plan seeded from config');
}
