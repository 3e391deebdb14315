import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createHandlerDeps } from '../../src/bot/handler-deps.js';
import { SlackChat } from '../../src/bot/slack-chat.js';
import type { Reply } from '../../src/commands/context.js';
import type { HandlerDeps } from '../../src/commands/deps.js';
import { dispatchCommand, type DispatchOutcome } from '../../src/commands/dispatch.js';
import { createCommandRegistry } from '../../src/commands/index.js';
import { parseConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/jobs/clock.js';
import { createJobsRuntime, type JobsRuntime } from '../../src/jobs/runtime.js';
import { createLogger } from '../../src/logging.js';
import { RoutingVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

const ADMIN = 'U0DEMO';
const ONCALL = 'U0ONCALL';
const MEMBER = 'U0MEMBER';
const OTHER = 'U0OTHER';

let redis: TestRedis;
let slack: FakeSlack;
let jobs: JobsRuntime;
let hosts: HostPool;
let deps: HandlerDeps;
let workDir: string;

beforeAll(async () => {
  redis = await startRedis();
  slack = await startFakeSlack();
  workDir = mkdtempSync(path.join(os.tmpdir(), 'trainops-handlers-'));
  const text = readFileSync('config/demo.yaml', 'utf8')
    .replace('redisPrefix: trainops-demo', `redisPrefix: ${uniquePrefix('handlers')}`)
    .replace(
      '    - { id: U0DEMO, name: 演示用户, roles: [admin, oncall, member] }',
      [
        '    - { id: U0DEMO, name: 管理员, roles: [admin, member] }',
        '    - { id: U0ONCALL, name: 值班员, roles: [oncall, member] }',
        '    - { id: U0MEMBER, name: 成员甲, roles: [member] }',
        '    - { id: U0OTHER, name: Other, roles: [member], locale: en }',
      ].join('\n'),
    );
  const config = parseConfig(text, 'demo', { baseDir: workDir });
  const logger = createLogger({ level: 'silent' });
  const chat = new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url });
  hosts = new HostPool(config.vms, logger);
  jobs = createJobsRuntime({ config, redisUrl: redis.url, chat, hosts, vmControl: new RoutingVmControl(undefined), logger, queueName: uniquePrefix('q') });
  deps = createHandlerDeps({ config, jobs, chat, clock: systemClock, logger, registry: createCommandRegistry(), hosts });
});

afterAll(async () => {
  await jobs?.close();
  await hosts?.closeAll();
  await slack?.stop();
  await redis?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

async function send(text: string, userId: string, threadTs?: string): Promise<{ outcome: DispatchOutcome; replies: Reply[] }> {
  const replies: Reply[] = [];
  const outcome = await dispatchCommand(
    {
      text,
      userId,
      channel: 'C0DEMO',
      ...(threadTs ? { threadTs } : {}),
      source: threadTs ? 'thread' : 'slash',
      respond: async (reply) => {
        replies.push(typeof reply === 'string' ? { text: reply } : reply);
      },
    },
    deps,
  );
  return { outcome, replies };
}

describe('core command handlers', () => {
  it('queues a run and lists it', async () => {
    const train = await send('/train demo lr=1e-3', MEMBER);
    expect(train.outcome).toBe('handled');
    expect(train.replies[0]?.text).toBe('已排队：#1 demo 在 local。进度会发在频道里这次运行的线程中。');

    const runs = await send('/runs', MEMBER);
    expect(runs.replies[0]?.text).toContain('`#1` demo 在 local · 排队中 · 成员甲');
  });

  it('shows status from inside the run thread', async () => {
    const run = await jobs.runStore.get('1');
    const status = await send('status', MEMBER, run!.threadTs);
    expect(status.outcome).toBe('handled');
    expect(status.replies[0]?.text).toContain('运行 #1：demo 在 local');
  });

  it('ignores thread chatter that is not a command', async () => {
    const run = await jobs.runStore.get('1');
    expect((await send('看起来不错', MEMBER, run!.threadTs)).outcome).toBe('ignored');
  });

  it('shows the last log lines', async () => {
    const runDir = path.join(workDir, '.trainops/demo/runs/1');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(path.join(runDir, 'train.log'), Array.from({ length: 30 }, (_, index) => `Step: ${index + 1}`).join('\n') + '\n');

    const logs = await send('/logs #1 5', MEMBER);
    expect(logs.replies[0]?.text).toBe('#1 train.log 最后 5 行：\nStep: 26\nStep: 27\nStep: 28\nStep: 29\nStep: 30');
  });

  it('says when the log has fewer lines than requested', async () => {
    const runDir = path.join(workDir, '.trainops/demo/runs/1');
    writeFileSync(path.join(runDir, 'train.log'), 'Step: 1\nStep: 2\n\nStep: 3\n');

    const logs = await send('/logs #1 5', MEMBER);
    expect(logs.replies[0]?.text).toBe('#1 train.log 只有 4 行（请求了 5 行），全部如下：\nStep: 1\nStep: 2\n\nStep: 3');
  });

  it('posts a long log as a file in the thread', async () => {
    const line = `Loss: 1.2345 ${'x'.repeat(60)}`;
    const runDir = path.join(workDir, '.trainops/demo/runs/1');
    writeFileSync(path.join(runDir, 'train.log'), Array.from({ length: 150 }, (_, index) => `${index + 1} ${line}`).join('\n') + '\n');

    const logs = await send('/logs #1 120', MEMBER);
    expect(logs.replies[0]?.text).toBe('#1 的日志较长，已作为文件发到运行线程中。');

    await slack.waitFor((calls) => calls.some((call) => call.method === 'files.completeUploadExternal'));
    const [file] = [...slack.files.values()];
    const run = await jobs.runStore.get('1');
    expect(file?.threadTs).toBe(run?.threadTs);
    expect(file?.content?.toString().split('\n').filter(Boolean)).toHaveLength(120);
    expect(file?.content?.toString()).toContain(`150 ${line}`);
  });

  it('rejects cancelling someone else’s run and names who may', async () => {
    const cancel = await send('/cancel #1', OTHER);
    expect(cancel.outcome).toBe('handled');
    expect(cancel.replies[0]?.text).toBe('Only the person who started the run, on-call or an admin may do this: 成员甲、管理员、值班员.');
    expect((await jobs.runStore.get('1'))?.status).toBe('queued');
  });

  it('lets on-call cancel a queued run', async () => {
    const cancel = await send('/cancel #1', ONCALL);
    expect(cancel.replies[0]?.text).toBe('已取消 #1。');
    expect((await jobs.runStore.get('1'))?.status).toBe('cancelled');

    const again = await send('/cancel #1', MEMBER);
    expect(again.replies[0]?.text).toBe('#1 已经结束（已取消），无需取消。');
  });

  it('answers in the member’s own locale', async () => {
    const help = await send('/help', OTHER);
    expect(help.replies[0]?.text).toContain('TrainOps: commands');
    expect(help.replies[0]?.text).toContain('/train <recipe>');
  });

  it('suggests the nearest command', async () => {
    const unknown = await send('/trian demo', MEMBER);
    expect(unknown.outcome).toBe('rejected');
    expect(unknown.replies[0]?.text).toContain('你是不是想用 `/train`');
  });

  it('suggests a help topic', async () => {
    const help = await send('/help trian', MEMBER);
    expect(help.replies[0]?.text).toBe('没有 “trian” 这个命令。你是不是想用 `/help train`？可用命令：' + deps.registry.list().map((spec) => `/${spec.name}`).join(' ') + '。');
  });

  it('titles help on one command by its name', async () => {
    const help = await send('/help plan', MEMBER);
    expect(help.replies[0]?.text).toMatch(/^TrainOps 训练助手：\/plan 的用法\n/);
    expect(help.replies[0]?.text).not.toContain('命令一览');
  });

  it('builds help examples from the loaded config', async () => {
    const help = await send('/help', MEMBER);
    const text = help.replies[0]?.text ?? '';
    expect(text).toContain('`/train demo 在 local`');
    expect(text).toContain('for <计划编号>');
    expect(text).toContain('vm local');
    expect(text).not.toContain('medical-phi4 在 yanshiyiliao');
    expect((await send('/train', MEMBER)).replies[0]?.text).toContain('例如 `/train demo 在 local`');
  });

  it('writes help placeholders in the reader language', async () => {
    const text = (await send('/help', MEMBER)).replies[0]?.text ?? '';

    expect(text).toContain('例：`/deploy <配方> 在 local`');
    expect(text).not.toContain('<recipe>');
    expect(text).not.toContain('<VM>');
    expect(text).not.toContain('<计划项>');
  });

  it('says when no recipe of the needed kind is configured', async () => {
    const check = await send('/dataset check demo', MEMBER);
    expect(check.replies[0]?.text).toBe('“demo” 是训练配方，这里需要数据集配方，但配置里还没有这类配方。');
  });

  it('reports a missing run', async () => {
    expect((await send('/status #99', MEMBER)).replies[0]?.text).toBe('找不到运行 #99。用 `/runs` 查看最近的运行。');
    expect((await send('/restart #99', ADMIN)).replies[0]?.text).toBe('找不到运行 #99。用 `/runs` 查看最近的运行。');
  });

  it('rejects people outside the team', async () => {
    const stranger = await send('/runs', 'U0STRANGER');
    expect(stranger.outcome).toBe('rejected');
    expect(stranger.replies[0]?.text).toContain('请联系管理员加入：管理员');
  });
});

describe('run id left out outside a thread', () => {
  async function activeRunIdsOf(userId: string): Promise<string[]> {
    return (await jobs.runStore.listActive()).filter((run) => run.userId === userId).map((run) => run.id);
  }

  it('says when there is no active run', async () => {
    expect(await activeRunIdsOf(ADMIN)).toEqual([]);

    const status = await send('/status', ADMIN);

    expect(status.outcome).toBe('handled');
    expect(status.replies.map((reply) => reply.text)).toEqual([
      '请给出运行编号，例如 `#42`，或在运行的线程里回复这个命令。你现在没有进行中的运行，用 `/runs` 查看最近的运行。',
    ]);
  });

  it('uses the only active run and names it', async () => {
    await send('/train demo', ADMIN);
    const [id] = await activeRunIdsOf(ADMIN);
    const note = `（没有给出运行编号，按你当前唯一在进行的运行 #${id} 处理）`;

    const status = await send('/status', ADMIN);
    const logs = await send('/logs 5', ADMIN);
    const cancel = await send('/cancel', ADMIN);

    expect(status.replies[0]?.text).toMatch(new RegExp(`^${note}\\n运行 #${id}：demo 在 local`));
    expect(JSON.stringify(status.replies[0]?.blocks?.[0])).toContain(note);
    expect(logs.replies[0]?.text.startsWith(`${note}\n`)).toBe(true);
    expect(logs.replies[0]?.text).toContain(`#${id}`);
    expect(cancel.replies.map((reply) => reply.text)).toEqual([`${note}\n已取消 #${id}。`]);
    expect((await jobs.runStore.get(id!))?.status).toBe('cancelled');
  });

  it('lists the active runs when there are several', async () => {
    await send('/train demo', ADMIN);
    await send('/train demo', ADMIN);
    const ids = await activeRunIdsOf(ADMIN);

    const cancel = await send('/cancel', ADMIN);
    const english = await send('/logs', OTHER);

    expect(ids).toHaveLength(2);
    expect(cancel.replies.map((reply) => reply.text)).toEqual([
      `请给出运行编号，例如 \`#42\`，或在运行的线程里回复这个命令。你有 2 个进行中的运行：#${ids[0]}、#${ids[1]}。`,
    ]);
    expect(english.replies[0]?.text).toContain('You have no active runs');
    for (const id of ids) expect((await jobs.runStore.get(id))?.status).toBe('queued');
  });
});
