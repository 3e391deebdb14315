#!/usr/bin/env node
// `npm run demo`: sets up what is missing, then opens the console chat on
// config/demo.yaml, where this machine is the VM and a tiny random model trains.
//
//   npm run demo                                   # interactive: type /train demo on local
//   echo '/train demo on local' | npm run demo     # runs the loop and exits when the run ends
//
// Set-up: npm dependencies when node_modules is missing, the trainer's Python venv
// (scripts/python-env.sh), and Redis: REDIS_URL if set, else a private redis-server from
// PATH in a temporary folder on a free port, stopped on exit.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

function say(text) {
  process.stderr.write(`demo: ${text}\n`);
}

function fail(text) {
  say(text);
  process.exit(1);
}

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) fail(`Node.js ${process.versions.node} is too old; install Node.js 20 or newer (https://nodejs.org).`);

if (!existsSync(path.join(root, 'node_modules', '@slack', 'bolt'))) {
  say('installing npm dependencies (npm ci)…');
  const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (npm.status !== 0) fail('npm ci failed; check the messages above, then run `npm ci` yourself.');
}

say('checking the trainer environment (first run installs torch, a few minutes)…');
const venv = spawnSync('bash', ['scripts/python-env.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const python = venv.stdout?.trim().split('\n').pop();
if (venv.status !== 0 || !python) {
  fail('the Python environment could not be set up. Install Python 3.10 or newer with venv support ' +
    '(Debian/Ubuntu: apt-get install python3 python3-venv; macOS: brew install python), then run `npm run demo` again.');
}

let redisUrl = process.env.REDIS_URL;
let redisProcess;
let redisDir;

function stopRedis() {
  if (redisProcess && redisProcess.exitCode === null) redisProcess.kill('SIGTERM');
  if (redisDir) rmSync(redisDir, { recursive: true, force: true });
}

process.on('exit', stopRedis);

if (!redisUrl) {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (found.status !== 0) {
    fail('Redis is needed. Either set REDIS_URL (for example redis://127.0.0.1:6379) or install redis-server ' +
      '(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), then run `npm run demo` again.');
  }
  const port = await freePort();
  redisDir = mkdtempSync(path.join(os.tmpdir(), 'trainops-demo-redis-'));
  redisProcess = spawn(found.stdout.trim(), ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir], {
    stdio: 'ignore',
  });
  await waitForPort(port);
  redisUrl = `redis://127.0.0.1:${port}`;
  // Run ids start again at 1 in a fresh Redis, so old run folders would be mistaken for them,
  // and the last session's log moves aside so that `#1` in console.log means this session's run.
  rmSync(path.join(root, '.trainops', 'demo'), { recursive: true, force: true });
  const log = path.join(root, '.trainops', 'console.log');
  if (existsSync(log)) renameSync(log, `${log}.previous`);
  say(`started a private redis-server on 127.0.0.1:${port}`);
}

const child = spawn(process.execPath, [path.join(root, 'bin', 'trainops.mjs'), 'console'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    TRAINOPS_CONFIG: process.env.TRAINOPS_CONFIG ?? 'config/demo.yaml',
    TRAINOPS_PYTHON: python,
    REDIS_URL: redisUrl,
  },
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}

child.on('exit', (code, signal) => {
  stopRedis();
  process.exit(code ?? (signal ? 1 : 0));
});

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (redisProcess.exitCode !== null) fail(`redis-server exited with code ${redisProcess.exitCode} before accepting connections.`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  fail(`redis-server did not accept connections on port ${port} within ${timeoutMs} ms.`);
}
