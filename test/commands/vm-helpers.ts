/**
 * A VM world for `/vm` and auto-stop tests. Its Azure VMs run locally (`transport:
 * local`), so status probes run on this machine. It has the real AzureVmControl against
 * the fake ARM server and the activity and run stores on a real Redis. Its run-control
 * and enqueue ports reject use, because these tests never queue a run.
 */
import { Redis } from 'ioredis';
import pino from 'pino';

import type { Reply } from '../../src/commands/context.js';
import { translator, type Translate } from '../../src/bot/i18n.js';
import type { ChatPort } from '../../src/bot/chat-port.js';
import type { CommandContext } from '../../src/commands/context.js';
import type { HandlerDeps } from '../../src/commands/deps.js';
import { createCommandRegistry } from '../../src/commands/index.js';
import type { VmPorts } from '../../src/commands/vm-deps.js';
import { configSchema, type Config, type Locale } from '../../src/config/schema.js';
import { ManualClock } from '../../src/jobs/clock.js';
import { RunStore } from '../../src/jobs/run-store.js';
import { RecordingVmControl, VmActivityStore } from '../../src/jobs/vm-activity.js';
import { RoutingVmControl } from '../../src/remote/always-on-vm-control.js';
import { AzureVmControl } from '../../src/remote/azure-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { startFakeArm, staticTestCredential, type FakeArm } from '../support/fake-arm.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

export const ADMIN = 'U01WANGLEI';
export const ONCALL = 'U01LINA';
export const MEMBER = 'U01CHENCHEN';
export const CHANNEL = 'C0123TRAINOPS';

const azure = (vmName: string) => ({ subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-gpu', vmName });

export function vmTestConfig(): Config {
  return configSchema.parse({
    slack: { channel: CHANNEL },
    team: {
      members: [
        { id: ADMIN, name: '王磊', roles: ['admin', 'member'] },
        { id: ONCALL, name: '李娜', roles: ['oncall', 'member'] },
        { id: MEMBER, name: '陈晨', roles: ['member'] },
      ],
    },
    vms: {
      yanshiyiliao: {
        transport: 'local',
        gpus: 1,
        gpuModel: 'A100 80GB',
        owner: MEMBER,
        azure: azure('yanshiyiliao'),
        autoStop: { enabled: true, idleMinutes: 60, graceMinutes: 10 },
        hourlyCost: 30,
      },
      xunlian: { transport: 'local', gpus: 2, gpuModel: 'H100', owner: ONCALL, azure: azure('xunlian'), autoStop: { enabled: true, idleMinutes: 30, graceMinutes: 5 } },
      yanshi: { transport: 'local', gpus: 1, azure: azure('yanshi') },
      local: { transport: 'local', gpus: 0 },
    },
  });
}

export interface VmWorld {
  config: Config;
  arm: FakeArm;
  redis: Redis;
  clock: ManualClock;
  runStore: RunStore;
  activity: VmActivityStore;
  ports: VmPorts;
  deps: HandlerDeps;
  chat: RecordingChat;
  stop(): Promise<void>;
}

/** A ChatPort that keeps what was posted, for handlers whose channel messages a test checks. */
export class RecordingChat implements ChatPort {
  posted: Array<{ channel: string; text: string; blocks?: unknown[]; threadTs?: string; ts: string }> = [];
  updated: Array<{ channel: string; ts: string; text: string; blocks?: unknown[] }> = [];
  private sequence = 0;

  async postMessage(message: { channel: string; text: string; blocks?: unknown[]; threadTs?: string }) {
    this.sequence += 1;
    const ts = `1700000000.${String(this.sequence).padStart(6, '0')}`;
    this.posted.push({ ...message, ts });
    return { channel: message.channel, ts };
  }

  async updateMessage(target: { channel: string; ts: string }, message: { text: string; blocks?: unknown[] }) {
    this.updated.push({ ...target, ...message });
  }

  async postEphemeral(): Promise<void> {}
  async uploadFile(): Promise<void> {}
  async publishHome(): Promise<void> {}
}

let sharedRedis: TestRedis | undefined;

export async function startVmWorld(options: { pollsPerOperation?: number } = {}): Promise<VmWorld> {
  const config = vmTestConfig();
  const arm = await startFakeArm({ pollsPerOperation: options.pollsPerOperation ?? 2 });
  sharedRedis = sharedRedis ?? (await startRedis());
  const server = sharedRedis;
  // BullMQ requires maxRetriesPerRequest null on connections it is given (the scheduler test).
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const prefix = `${server.prefix}${uniquePrefix('vm')}`;
  const clock = new ManualClock('2026-12-08T10:00:00+08:00');
  const runStore = new RunStore(redis, prefix, clock);
  const activity = new VmActivityStore(redis, prefix);
  const logger = pino({ level: 'silent' });
  const azureControl = new AzureVmControl({
    vms: config.vms,
    credential: staticTestCredential(),
    endpoint: arm.url,
    trustedCa: arm.ca,
    pollIntervalMs: 5,
    maxRetries: 0,
  });
  const control = new RecordingVmControl(new RoutingVmControl(azureControl), activity, clock);
  const hosts = new HostPool(config.vms, logger);
  const ports: VmPorts = { control, activity, hosts, pollMs: 1 };
  const chat = new RecordingChat();

  const reject = async (): Promise<never> => {
    throw new Error('not used in VM tests');
  };
  const deps: HandlerDeps = {
    config,
    runStore,
    // These tests never cancel, restart or read logs, so run control is a stand-in that rejects.
    runControl: { cancelRun: reject, readRunLog: reject, restartRun: reject } as unknown as HandlerDeps['runControl'],
    enqueue: reject,
    chat,
    clock,
    logger,
    translate: (locale: Locale) => translator(locale),
    registry: createCommandRegistry(),
    vm: ports,
  };

  return {
    config,
    arm,
    redis,
    clock,
    runStore,
    activity,
    ports,
    deps,
    chat,
    stop: async () => {
      await hosts.closeAll();
      redis.disconnect();
      await arm.stop();
    },
  };
}

/** Stops the Redis server shared by the worlds of one test file. */
export async function stopSharedRedis(): Promise<void> {
  await sharedRedis?.stop();
  sharedRedis = undefined;
}

export interface TestContext extends CommandContext {
  replies: Reply[];
}

/** Builds a CommandContext for `userId` that keeps its ephemeral replies in `replies`. */
export function commandContext(world: VmWorld, userId: string, locale: Locale = 'zh-CN'): TestContext {
  const replies: Reply[] = [];
  const t: Translate = translator(locale);
  return {
    config: world.config,
    userId,
    channel: CHANNEL,
    locale,
    now: world.clock.now(),
    source: 'slash',
    t,
    logger: pino({ level: 'silent' }),
    replies,
    respond: async (reply) => {
      replies.push(typeof reply === 'string' ? { text: reply } : reply);
    },
  };
}

export function replyTexts(ctx: TestContext): string[] {
  return ctx.replies.map((reply) => reply.text);
}
