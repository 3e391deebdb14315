import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { displayWidth, renderMessage, type ConsoleChat } from '../../src/bot/console-chat.js';
import { runConsoleSession } from '../../src/bot/console-session.js';
import { createHandlerDeps } from '../../src/bot/handler-deps.js';
import { createCommandRegistry } from '../../src/commands/index.js';
import { parseConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/jobs/clock.js';
import { createPlanRuntime } from '../../src/jobs/plan-runtime.js';
import { createJobsRuntime, type JobsRuntime } from '../../src/jobs/runtime.js';
import { createLogger } from '../../src/logging.js';
import { RoutingVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { createStringSink, createTestConsoleChat } from '../support/console-output.js';
import { startRedis, uniquePrefix, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
let jobs: JobsRuntime;
let hosts: HostPool;
let workDir: string;

beforeAll(async () => {
  redis = await startRedis();
  workDir = mkdtempSync(path.join(os.tmpdir(), 'trainops-console-'));
});

afterAll(async () => {
  await jobs?.close();
  await hosts?.closeAll();
  await redis?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('console session', () => {
  it('runs piped commands and exits when its runs have ended', async () => {
    const text = readFileSync('config/demo.yaml', 'utf8').replace('redisPrefix: trainops-demo', `redisPrefix: ${uniquePrefix('console')}`);
    const config = parseConfig(text, 'demo', { baseDir: workDir });
    const logger = createLogger({ level: 'silent' });

    const { chat, output, printed } = createTestConsoleChat({ fileDir: path.join(workDir, 'files'), timezone: config.timezone });
    hosts = new HostPool(config.vms, logger);
    // No worker is started, so the run stays queued until the session cancels it.
    jobs = createJobsRuntime({ config, redisUrl: redis.url, chat, hosts, vmControl: new RoutingVmControl(undefined), logger, queueName: uniquePrefix('q') });
    const deps = createHandlerDeps({ config, jobs, chat, clock: systemClock, logger, registry: createCommandRegistry() });

    const input = new PassThrough();
    input.end(['/train demo on local', '#1 status', '/cancel #1', ''].join('\n'));
    const errors = createStringSink();
    const code = await runConsoleSession({ deps, chat, input, output, errors: errors.stream, userId: 'U0DEMO', pollMs: 20 });

    expect(code).toBe(1);
    expect(errors.text()).toBe('1 个运行中有 1 个没有成功：#1 demo 已取消。\n');
    expect(printed()).toContain('> /train demo on local');
    expect(printed()).toContain('训练 #1 · demo @ local');
    expect(printed()).toContain('发起人：@演示用户');
    expect(printed()).toContain('(ephemeral) 已排队：#1 demo 在 local');
    expect(printed()).toMatch(/\n {4}↳ \[\d\d:\d\d:\d\d\] \(ephemeral\) 运行 #1：demo 在 local/);
    expect(printed()).toContain('(ephemeral) 已取消 #1。');
    expect(printed()).toContain('所有运行已结束。');
    expect((await jobs.runStore.get('1'))?.status).toBe('cancelled');
  });
});

/** Runs a piped console session on the demo config, with its own Redis prefix and no worker. */
async function startSession(lines: readonly string[], settle?: (chat: ConsoleChat) => Promise<void>, options: { terminal?: boolean } = {}) {
  const text = readFileSync('config/demo.yaml', 'utf8').replace('redisPrefix: trainops-demo', `redisPrefix: ${uniquePrefix('console')}`);
  const config = parseConfig(text, 'demo', { baseDir: workDir });
  const logger = createLogger({ level: 'silent' });
  const { chat, output, printed } = createTestConsoleChat({ fileDir: path.join(workDir, 'files'), timezone: config.timezone });
  const errors = createStringSink();
  const sessionHosts = new HostPool(config.vms, logger);
  const runtime = createJobsRuntime({ config, redisUrl: redis.url, chat, hosts: sessionHosts, vmControl: new RoutingVmControl(undefined), logger, queueName: uniquePrefix('q') });
  const plan = createPlanRuntime({ config, redisUrl: redis.url, chat, runs: runtime.runStore, logger });
  const deps = createHandlerDeps({ config, jobs: runtime, chat, clock: systemClock, logger, registry: createCommandRegistry(), plan: plan.ports });

  // A PassThrough marked as a TTY makes the session prompt as it does in a terminal.
  const input = Object.assign(new PassThrough(), options.terminal ? { isTTY: true } : {});
  input.end([...lines, ''].join('\n'));
  try {
    const code = await runConsoleSession({
      deps,
      chat,
      input,
      output,
      errors: errors.stream,
      userId: 'U0DEMO',
      pollMs: 20,
      ...(settle ? { settle: () => settle(chat) } : {}),
    });
    return { code, printed: printed(), errors: errors.text(), runtime };
  } finally {
    await plan.close();
    await runtime.close();
    await sessionHosts.closeAll();
  }
}

describe('piped console session', () => {
  it('exits 1 when every command was rejected', async () => {
    const session = await startSession(['/train dmeo on local']);
    expect(session.code).toBe(1);
    expect(session.printed).toContain('你是不是想用 `demo`');
    expect(session.errors).toBe('输入了 1 条命令，其中 1 条被拒绝或出错。\n');
  });

  it('exits 0 when the commands were accepted', async () => {
    const session = await startSession(['/runs', '/help train']);
    expect(session.code).toBe(0);
    expect(session.errors).toBe('');
  });

  it('accepts a leading @TrainOps', async () => {
    const session = await startSession(['@TrainOps runs', '@训练助手 help runs']);
    expect(session.code).toBe(0);
    expect(session.printed).toContain('还没有任何运行');
    expect(session.printed).toContain('/runs 的用法');
  });

  it('exits 1 when one of several commands was rejected', async () => {
    const session = await startSession(['/train demo on local', '/cancel #1', '/trian demo']);
    expect(session.code).toBe(1);
    expect(session.errors).toContain('1 条被拒绝或出错');
  });

  it('summarizes a cancelled run on exit', async () => {
    const session = await startSession(['/train demo on local', '/cancel #1']);
    expect(session.code).toBe(1);
    expect(session.errors).toBe('1 个运行中有 1 个没有成功：#1 demo 已取消。\n');
  });

  it('summarizes rejected commands and runs together', async () => {
    const session = await startSession(['/train demo on local', '/cancel #1', '/trian demo']);
    expect(session.code).toBe(1);
    expect(session.errors).toBe('输入了 3 条命令，其中 1 条被拒绝或出错。 1 个运行中有 1 个没有成功：#1 demo 已取消。\n');
  });

  it('prints the closing line after the final posts', async () => {
    const session = await startSession(['/train demo on local', '/cancel #1'], async (chat) => {
      await chat.postMessage({ channel: 'C0DEMO', text: '训练完成（最终消息）' });
    });
    expect(session.code).toBe(1);
    const finalPost = session.printed.indexOf('训练完成（最终消息）');
    expect(finalPost).toBeGreaterThan(-1);
    expect(session.printed.indexOf('所有运行已结束。')).toBeGreaterThan(finalPost);
  });
});

describe('multi-line /plan import', () => {
  const weeklyMessage = readFileSync(new URL('../fixtures/weekly-plan.txt', import.meta.url), 'utf8').trimEnd();

  it('reads the pasted message up to the end line', async () => {
    const session = await startSession(['/plan import', ...weeklyMessage.split('\n'), '.', '/runs']);
    expect(session.errors).toBe('');
    expect(session.code).toBe(0);
    expect(session.printed).toContain('我读到的周计划');
    expect(session.printed).toContain('部署 Phi4');
    expect(session.printed).toContain('完成训练 phi3.5 moe + 医疗');
    expect(session.printed).toContain('处理数据集');
    expect(session.printed).not.toContain('这个命令');
    expect(session.printed).toContain('还没有任何运行');
  });

  it('saves the import when its button is typed', async () => {
    const session = await startSession(['/plan import', ...weeklyMessage.split('\n'), '.', '[保存计划]', '/plan']);
    expect(session.errors).toBe('');
    expect(session.code).toBe(0);
    expect(session.printed).toContain('[保存计划] [取消]');
    expect(session.printed).toMatch(/已保存 \d+ 项/);
    expect(session.printed).not.toContain('这周还没有计划');
  });

  it('cancels a run with its button', async () => {
    const session = await startSession(['/train demo on local', '[取消]']);
    expect(session.printed).toContain('(ephemeral) 已取消 #1。');
    expect(session.errors).toBe('1 个运行中有 1 个没有成功：#1 demo 已取消。\n');
    expect(session.code).toBe(1);
  });

  it('rejects a button that was not printed', async () => {
    const session = await startSession(['[保存计划]']);
    expect(session.code).toBe(1);
    expect(session.printed).toContain('上面没有 [保存计划] 按钮');
  });

  it('prompts for the message in a terminal', async () => {
    const session = await startSession(['/plan import', ...weeklyMessage.split('\n'), '.'], undefined, { terminal: true });
    expect(session.code).toBe(0);
    expect(session.printed).toContain('请粘贴周计划消息（可以多行，含空行），以单独一行 . 结束（Ctrl+D 也会结束）：');
    expect(session.printed).toContain('… ');
    expect(session.printed).toContain('我读到的周计划');
    expect(session.printed).toContain('处理数据集');
  });

  it('runs the message when input ends first', async () => {
    const session = await startSession(['@TrainOps plan import', ...weeklyMessage.split('\n')]);
    expect(session.errors).toBe('');
    expect(session.code).toBe(0);
    expect(session.printed).toContain('我读到的周计划');
    expect(session.printed).toContain('处理数据集');
  });
});

describe('renderMessage', () => {
  it('renders Block Kit as plain lines', () => {
    const text = renderMessage('fallback', [
      { type: 'header', text: { type: 'plain_text', text: '标题' } },
      { type: 'section', text: { type: 'mrkdwn', text: '*状态*：训练中' }, fields: [{ type: 'mrkdwn', text: '<@U1> 发起' }] },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'a' }, { type: 'mrkdwn', text: 'b' }] },
      { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: '取消' } }] },
    ]);
    expect(text).toBe('标题\n状态：训练中\n@U1 发起\na · b\n[取消]');
  });

  it('falls back to the text', () => {
    expect(renderMessage('*hello*', undefined)).toBe('hello');
  });

  it('renders table rows as aligned lines', () => {
    const text = renderMessage('fallback', [
      { type: 'header', text: { type: 'plain_text', text: '本周计划' } },
      {
        type: 'table',
        rows: [
          [{ type: 'raw_text', text: '编号' }, { type: 'raw_text', text: '事项' }, { type: 'raw_text', text: '负责人' }],
          [
            { type: 'raw_text', text: '1' },
            { type: 'raw_text', text: '测试' },
            { type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'user', user_id: 'U0DEMO' }] }] },
          ],
          [{ type: 'raw_text', text: '2.1' }, { type: 'raw_text', text: 'train phi4' }, { type: 'raw_text', text: '—' }],
        ],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: '共 2 项' }] },
    ]);
    expect(text.split('\n')).toEqual(['本周计划', '编号  事项        负责人', '1     测试        @U0DEMO', '2.1   train phi4  —', '共 2 项']);
  });

  it('falls back to the text for an unknown block type', () => {
    expect(renderMessage('*全部内容*', [{ type: 'section', text: { type: 'mrkdwn', text: '部分' } }, { type: 'video', title: 'x' }])).toBe('全部内容');
  });

  it('counts CJK characters as two columns', () => {
    expect(displayWidth('ab测试')).toBe(6);
  });
});
