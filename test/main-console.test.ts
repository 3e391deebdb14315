import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RunStore } from '../src/jobs/run-store.js';
import { systemClock } from '../src/jobs/clock.js';
import { startRedis, uniquePrefix, type TestRedis } from './support/redis.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let redis: TestRedis;
let workDir: string;

beforeAll(async () => {
  redis = await startRedis();
  workDir = mkdtempSync(path.join(os.tmpdir(), 'trainops-console-e2e-'));
});

afterAll(async () => {
  await redis?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

/** Runs `trainops console` on the demo config (changed by `edit`) with `input` piped to stdin. */
async function runConsole(input: string, edit: (config: string) => string = (config) => config) {
  const python = spawnSync('bash', [path.join(repoRoot, 'scripts/python-env.sh')], { encoding: 'utf8' }).stdout.trim();
  const prefix = uniquePrefix('console-e2e');
  const config = readFileSync(path.join(repoRoot, 'config/demo.yaml'), 'utf8')
    .replace('redisPrefix: trainops-demo', `redisPrefix: ${prefix}`)
    .replace('workdir: .trainops/demo', `workdir: ${path.join(workDir, prefix)}`)
    .replace('dataset: python/', `dataset: ${path.join(repoRoot, 'python')}/`);
  const configPath = path.join(workDir, `${prefix}.yaml`);
  writeFileSync(configPath, edit(config));

  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/trainops.mjs'), 'console'], {
    cwd: workDir,
    env: { ...process.env, TRAINOPS_CONFIG: configPath, TRAINOPS_PYTHON: python, REDIS_URL: redis.url, LOG_LEVEL: 'info' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    errors += chunk.toString();
  });
  child.stdin.end(input);

  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output, errors, prefix };
}

describe('trainops console', () => {
  it('trains the demo recipe from piped input', async () => {
    const { code, output, prefix } = await runConsole('/train demo on local steps=4\n');

    expect(output).toContain('已排队：#1 demo 在 local');
    expect(output).toContain('所有运行已结束。');
    expect(output.indexOf('所有运行已结束。')).toBeGreaterThan(output.indexOf('训练完成'));
    expect(output.indexOf('所有运行已结束。')).toBeGreaterThan(output.indexOf('run-1-loss.png'));
    expect(code, output).toBe(0);
    expect(output).not.toContain('⚠️ 训练数据');

    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    try {
      const run = await new RunStore(connection, prefix, systemClock).get('1');
      expect(run?.status).toBe('succeeded');
      expect(run?.step).toBe(4);
      expect(run?.overrides).toEqual({ steps: 4 });
    } finally {
      connection.disconnect();
    }
    expect(readFileSync(path.join(workDir, '.trainops/console.log'), 'utf8')).toContain('console starting');
  });

  it('warns in the thread about dropped rows', async () => {
    const { code, output } = await runConsole('/train demo on local steps=2\n', (config) => config.replace(/max_length: \d+/, 'max_length: 128'));

    expect(code, output).toBe(0);
    expect(output).toContain('↳');
    expect(output).toContain('⚠️ 训练数据 40 行，其中 36 行超过最大长度 128 被丢弃，实际用 4 行训练。');
    expect(output.split('⚠️ 训练数据').length).toBe(2);
  });

  it('summarizes a failed run on stderr', async () => {
    const { code, output, errors } = await runConsole('/train demo on local\n', (config) => config.replace('medical_sample.jsonl', 'missing.jsonl'));

    expect(code, output).toBe(1);
    expect(errors).toContain('1 个运行中有 1 个没有成功：#1 demo 失败（数据错误）。\n');
  });
});
