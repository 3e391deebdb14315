import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { translator } from '../../src/bot/i18n.js';
import { SlackChat } from '../../src/bot/slack-chat.js';
import type { ParseContext } from '../../src/commands/context.js';
import type { HandlerDeps } from '../../src/commands/deps.js';
import { dispatchCommand } from '../../src/commands/dispatch.js';
import { oncallAckAction, oncallCommand, parseOncall } from '../../src/commands/oncall-command.js';
import { CommandRegistry } from '../../src/commands/registry.js';
import { parseRestart, rerunCommand, restartCommand } from '../../src/commands/restart-command.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { Announcer } from '../../src/jobs/announcer.js';
import { ManualClock } from '../../src/jobs/clock.js';
import { createFailureRuntime } from '../../src/jobs/failure-runtime.js';
import { createRunQueue } from '../../src/jobs/run-queue.js';
import { RunStore } from '../../src/jobs/run-store.js';
import type { RunRecord, RunStatus } from '../../src/jobs/run-types.js';
import { AlwaysOnVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

let redisServer: TestRedis;
let slack: FakeSlack;
let workdir: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  redisServer = await startRedis();
  slack = await startFakeSlack();
  workdir = await mkdtemp(path.join(os.tmpdir(), 'trainops-restart-'));
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await slack.stop();
  await redisServer.stop();
  await rm(workdir, { recursive: true, force: true });
});

function testConfig(prefix: string): Config {
  return configSchema.parse({
    redisPrefix: prefix,
    slack: { channel: 'CRUNS', mode: 'console' },
    team: {
      members: [
        { id: 'UADMIN', name: 'Ada', roles: ['admin'] },
        { id: 'UONCALL', name: 'Olga', roles: ['oncall'] },
        { id: 'UOWNER', name: 'Owen', roles: ['member'] },
        { id: 'UOTHER', name: 'Otto', roles: ['member'] },
        { id: 'USTANDIN', name: 'Stan', roles: ['member'] },
      ],
      // 2026-12-07 is a Monday; UONCALL starts the week of the test clock.
      oncall: { rotation: ['UONCALL', 'UADMIN'], rotationStart: '2026-12-07', handoverTime: '10:00' },
    },
    vms: { local: { transport: 'local', workdir: path.join(workdir, prefix) } },
    recipes: { demo: { kind: 'train', model: 'tiny-random-phi3', dataset: 'rows.jsonl', vm: 'local' } },
  });
}

/** Sets up the commands and one run of UOWNER, moved through `statuses` (by default to failed). */
async function setUp(statuses: RunStatus[] = ['failed'], overrides: RunRecord['overrides'] = {}) {
  const prefix = uniquePrefix('perm');
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const config = testConfig(prefix);
  const logger = pino({ level: 'silent' });
  const clock = new ManualClock('2026-12-08T12:00:00+08:00');
  const store = new RunStore(redis, prefix, clock);
  const chat = new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url });
  const announcer = new Announcer({ chat, redis, keys: store.keys, clock, logger, channelIntervalMs: 0 });
  const queue = createRunQueue(redis, prefix);
  const failures = createFailureRuntime({
    config,
    redis,
    store,
    queue,
    announcer,
    hosts: new HostPool(config.vms, logger),
    vmControl: new AlwaysOnVmControl(),
    clock,
    logger,
  });
  cleanups.push(async () => {
    await failures.close();
    await queue.close();
    redis.disconnect();
  });

  // Only the ports these commands use; the others are never reached.
  const deps = {
    config,
    runStore: store,
    chat,
    clock,
    logger,
    translate: translator,
    registry: new CommandRegistry([restartCommand, oncallCommand], [oncallAckAction]),
    restarts: failures.restartPort,
    oncall: failures.oncallPort,
  } as unknown as HandlerDeps;

  const run = await store.create({ kind: 'train', recipe: 'demo', vm: 'local', userId: 'UOWNER', channel: 'CRUNS', overrides });
  await store.setThreadTs(run.id, '500.0001');
  for (const status of statuses) await store.update(run.id, () => ({ status }));

  async function send(userId: string, text: string, threadTs?: string): Promise<string[]> {
    const replies: string[] = [];
    await dispatchCommand(
      {
        text,
        userId,
        channel: 'CRUNS',
        ...(threadTs ? { threadTs } : {}),
        source: threadTs ? 'thread' : 'slash',
        respond: async (reply) => {
          replies.push(typeof reply === 'string' ? reply : reply.text);
        },
      },
      deps,
    );
    return replies;
  }
  return { store, run, send, clock, failures };
}

describe('parseRestart', () => {
  const ctx = { threadRunId: '42' } as ParseContext;
  const cases: Array<[string, unknown]> = [
    ['#7', { runId: '7', from: { kind: 'latest' } }],
    ['#7 from=1200', { runId: '7', from: { kind: 'step', step: 1200 } }],
    ['from=scratch', { runId: '42', from: { kind: 'scratch' } }],
    ['7 latest', { runId: '7', from: { kind: 'latest' } }],
    ['', { runId: '42', from: { kind: 'latest' } }],
  ];
  for (const [text, expected] of cases) {
    it(`parses "${text}"`, () => {
      expect(parseRestart(text, ctx)).toEqual(expected);
    });
  }

  it('rejects a bad from', () => {
    expect(parseRestart('#7 from=yesterday', ctx)).toMatchObject({ type: 'parse_error', key: 'restart.invalidFrom' });
  });

  it('rejects extra words', () => {
    expect(parseRestart('#7 please', ctx)).toMatchObject({ type: 'parse_error', key: 'restart.usage' });
  });
});

describe('parseOncall', () => {
  it('parses show and set', () => {
    const ctx = { config: testConfig('oncall-parse'), userId: 'UADMIN' };
    expect(parseOncall('', ctx)).toEqual({ kind: 'show' });
    expect(parseOncall('set <@UBOB123|bob>', ctx)).toEqual({ kind: 'set', userId: 'UBOB123' });
    expect(parseOncall('set UBOB123', ctx)).toEqual({ kind: 'set', userId: 'UBOB123' });
    expect(parseOncall('set @Stan', ctx)).toEqual({ kind: 'set', userId: 'USTANDIN' });
    expect(parseOncall('set bob', ctx)).toMatchObject({ key: 'core.error.member_unknown' });
    expect(parseOncall('bob', ctx)).toMatchObject({ key: 'oncall.usage' });
  });
});

describe('/restart permissions', () => {
  it('rejects another member with who can', async () => {
    const { send, store, run } = await setUp();
    const replies = await send('UOTHER', `restart #${run.id}`);
    expect(replies[0]).toContain('<@UOWNER>');
    expect(replies[0]).toContain('<@UONCALL>');
    expect(replies[0]).toContain('Ada');
    expect((await store.require(run.id)).attempt).toBe(1);
  });

  it('allows the owner', async () => {
    const { send, store, run } = await setUp();
    const replies = await send('UOWNER', `restart #${run.id} from=scratch`);
    expect(replies[0]).toContain('第 2 次尝试');
    expect((await store.require(run.id)).attempt).toBe(2);
  });

  it('allows on-call and admins', async () => {
    const first = await setUp();
    await first.send('UONCALL', `restart #${first.run.id}`);
    expect((await first.store.require(first.run.id)).attempt).toBe(2);

    const second = await setUp();
    await second.send('UADMIN', `重启 #${second.run.id}`);
    expect((await second.store.require(second.run.id)).attempt).toBe(2);
  });

  it('allows a stand-in set with /oncall set', async () => {
    const { send, store, run } = await setUp();
    const rejected = await send('USTANDIN', `restart #${run.id}`);
    expect(rejected[0]).toContain('<@UOWNER>');

    const set = await send('UONCALL', 'oncall set <@USTANDIN>');
    expect(set[0]).toContain('<@USTANDIN>');
    await send('USTANDIN', `restart #${run.id}`);
    expect((await store.require(run.id)).attempt).toBe(2);
  });

  it('works inside the thread without an id', async () => {
    const { send, store, run } = await setUp();
    await send('UOWNER', 'restart from=latest', '500.0001');
    expect((await store.require(run.id)).attempt).toBe(2);
  });
});

describe('/restart of a run that has not failed', () => {
  it('rejects a succeeded run and keeps it succeeded', async () => {
    const { send, store, run, failures } = await setUp(['running', 'succeeded'], { steps: 30 });

    const replies = await send('UOWNER', `restart #${run.id} from=scratch`);
    const direct = await failures.restartPort.restart({ runId: run.id, from: { kind: 'latest' }, actor: 'UADMIN' });
    const stored = await store.require(run.id);

    expect(replies).toEqual([`#${run.id} 已经成功完成，不能重启。要再运行一次，请发起新的运行：\`/train demo on local steps=30\``]);
    expect(direct.outcome).toBe('succeeded');
    expect(stored.status).toBe('succeeded');
    expect(stored.attempt).toBe(1);
    expect(stored.attempts).toHaveLength(1);
  });

  it('names the status of an active run', async () => {
    const { send, store, run } = await setUp(['syncing']);

    const replies = await send('UOWNER', `restart #${run.id}`);

    expect(replies).toEqual([`#${run.id} 正在同步代码，运行结束后才能重启。`]);
    expect((await store.require(run.id)).attempt).toBe(1);
  });
});

describe('rerunCommand', () => {
  const base = { recipe: 'demo', vm: 'local', overrides: {} };
  const cases: Array<[string, Parameters<typeof rerunCommand>[0], string]> = [
    ['train with overrides', { ...base, kind: 'train', overrides: { steps: 30, lr: 0.001 } }, '/train demo on local steps=30 lr=0.001'],
    ['train for a plan item', { ...base, kind: 'train', planItem: '2.1' }, '/train demo on local for 2.1'],
    ['a value with a space', { ...base, kind: 'train', overrides: { note: 'two words' } }, '/train demo on local note="two words"'],
    ['a value with a quote', { ...base, kind: 'train', overrides: { note: 'say "hi"' } }, '/train demo on local note=「say "hi"」'],
    ['deploy from a run', { ...base, kind: 'deploy', recipe: 'serve', sourceRunId: '7' }, '/deploy serve on local from #7'],
    ['dataset check', { ...base, kind: 'dataset', recipe: 'rows' }, '/dataset check rows on local'],
    ['default bench', { ...base, kind: 'bench', recipe: 'comm' }, '/bench comm on local'],
    ['named bench', { ...base, kind: 'bench', recipe: 'nccl-big' }, '/bench comm nccl-big on local'],
  ];
  for (const [name, run, expected] of cases) {
    it(name, () => {
      expect(rerunCommand(run)).toBe(expected);
    });
  }
});

describe('/oncall', () => {
  it('shows now and next', async () => {
    const { send } = await setUp();
    const replies = await send('UOTHER', 'oncall');
    expect(replies[0]).toContain('现在值班：<@UONCALL>');
    expect(replies[0]).toContain('下一位：<@UADMIN>');
    expect(replies[0]).toContain('2026-12-14 10:00');
  });

  it('rejects a set by others', async () => {
    const { send } = await setUp();
    const replies = await send('UOTHER', 'oncall set <@UOTHER>');
    expect(replies[0]).toContain('只有管理员和当前值班');
  });

  it('lets the override expire at hand-over', async () => {
    const { send, clock } = await setUp();
    await send('UADMIN', 'oncall set <@USTANDIN>');
    expect((await send('UOTHER', 'oncall'))[0]).toContain('现在值班：<@USTANDIN>');

    clock.set('2026-12-14T10:00:00+08:00');
    expect((await send('UOTHER', 'oncall'))[0]).toContain('现在值班：<@UADMIN>');
  });
});
