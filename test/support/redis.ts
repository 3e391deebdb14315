/**
 * A real redis-server for one test file, on a free loopback port, with no persistence.
 *
 *   let redis: TestRedis;
 *   beforeAll(async () => { redis = await startRedis(); });
 *   afterAll(async () => { await redis.stop(); });
 *   const connection = new IORedis(redis.url, { maxRetriesPerRequest: null });
 *   const queueName = uniquePrefix('runs');   // per test, so tests never share keys
 *
 * When REDIS_URL is set, that server is used and nothing is started. Keys then share
 * the server with other files, so use `prefix`; `stop()` leaves that server running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { getFreePort } from './free-port.js';

export interface TestRedis {
  url: string;
  port: number;
  /** Random key prefix for this file (ends with ':'); use it or uniquePrefix() for every key. */
  prefix: string;
  stop(): Promise<void>;
}

/** Returns a fresh random name such as `t-runs-3f9a1c2b`, for key prefixes and BullMQ queue names. */
export function uniquePrefix(label = 't'): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

export async function startRedis(): Promise<TestRedis> {
  const external = process.env.REDIS_URL;
  if (external) {
    const port = Number(new URL(external).port || 6379);
    return { url: external, port, prefix: `${uniquePrefix()}:`, stop: async () => {} };
  }

  const dir = await mkdtemp(path.join(os.tmpdir(), 'trainops-redis-'));
  const port = await getFreePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });

  try {
    await waitForPong(port, child, 10_000);
  } catch (error) {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`redis-server did not answer PING on port ${port}: ${(error as Error).message}\n${stderr}`);
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    prefix: `${uniquePrefix()}:`,
    stop: async () => {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPong(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms`);
}

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Sends SIGTERM, then SIGKILL if the process has not exited after 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
