import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConsoleChat, renderMessage } from '../../src/bot/console-chat.js';
import { runConsoleSession } from '../../src/bot/console-session.js';
import { createHandlerDeps } from '../../src/bot/handler-deps.js';
import { createCommandRegistry } from '../../src/commands/index.js';
import { parseConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/jobs/clock.js';
import { createJobsRuntime, type JobsRuntime } from '../../src/jobs/runtime.js';
import { createLogger } from '../../src/logging.js';
import { RoutingVmControl } from '../../src/remote/always-on-vm-control.js';
import { HostPool } from '../../src/remote/host-pool.js';
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

    let printed = '';
    const output = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        printed += chunk.toString();
        callback();
      },
    });
    const chat = new ConsoleChat({
      output,
      fileDir: path.join(workDir, 'files'),
      timezone: config.timezone,
      labels: { ephemeral: '(ephemeral)', updated: '(updated)', file: '(file)' },
      userNames: { U0DEMO: '演示用户' },
    });
    hosts = new HostPool(config.vms, logger);
    // No worker is started, so the run stays queued until the session cancels it.
    jobs = createJobsRuntime({ config, redisUrl: redis.url, chat, hosts, vmControl: new RoutingVmControl(undefined), logger, queueName: uniquePrefix('q') });
    const deps = createHandlerDeps({ config, jobs, chat, clock: systemClock, logger, registry: createCommandRegistry() });

    const input = new PassThrough();
    input.end(['/train demo on local', '#1 status', '/cancel #1', ''].join('\n'));
    const code = await runConsoleSession({ deps, chat, input, output, userId: 'U0DEMO', pollMs: 20 });

    expect(code).toBe(1);
    expect(printed).toContain('> /train demo on local');
    expect(printed).toContain('训练 #1 · demo @ local');
    expect(printed).toContain('发起人：@演示用户');
    expect(printed).toContain('(ephemeral) 已排队：#1 demo 在 local');
    expect(printed).toMatch(/\n {4}↳ \[\d\d:\d\d:\d\d\] \(ephemeral\) 运行 #1：demo 在 local/);
    expect(printed).toContain('(ephemeral) 已取消 #1。');
    expect(printed).toContain('所有运行已结束。');
    expect((await jobs.runStore.get('1'))?.status).toBe('cancelled');
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
});
