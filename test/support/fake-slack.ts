/**
 * A local fake of the Slack Web API on 127.0.0.1 (free port), for `@slack/web-api`'s
 * WebClient and Bolt pointed at it with `slackApiUrl: fake.url`.
 *
 *   const slack = await startFakeSlack();
 *   const client = new WebClient('xoxb-test', { slackApiUrl: slack.url });
 *   slack.failNext('chat.postMessage', 2, 1);   // the next two calls get 429, Retry-After: 1
 *   await slack.waitFor((calls) => calls.some((call) => call.method === 'chat.update'));
 *   await slack.stop();
 *
 * It records every call (method, parsed body, time) and serves the methods the bot uses,
 * including the three HTTP calls behind `files.uploadV2`: `files.getUploadURLExternal`
 * returns an `upload_url` on this server, the file bytes are POSTed there, and
 * `files.completeUploadExternal` finishes the upload. `conversations.replies` and
 * `conversations.history` return stored messages with their metadata.
 * `apps.connections.open` returns `options.socketModeUrl`, or a `ws://` URL on this
 * server where nothing listens, so a Socket Mode test passes its own WebSocket server.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSlackCall {
  /** Web API method (`chat.postMessage`) or `upload` for the file bytes POSTed to an upload URL. */
  method: string;
  /** Form fields, with JSON-valued fields (blocks, view, files…) parsed. */
  body: Record<string, unknown>;
  /** Authorization header, to check which token was sent. */
  authorization?: string;
  /** File bytes, for `upload` calls. */
  file?: Buffer;
  /** Epoch milliseconds when the call arrived. */
  time: number;
  /** HTTP status of the fake's response. */
  status: number;
}

/** A message as the fake stores it after chat.postMessage and chat.update. */
export interface FakeSlackMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  text: string;
  blocks?: unknown[];
  /** Slack message metadata (`event_type`, `event_payload`) sent with chat.postMessage. */
  metadata?: unknown;
  updates: number;
}

export interface FakeSlack {
  /** Base URL ending in `/api/`, for `slackApiUrl`. */
  url: string;
  calls: FakeSlackCall[];
  /** Messages by `channel:ts`, reflecting the latest chat.update. */
  messages: Map<string, FakeSlackMessage>;
  /** Uploaded files by file id, with the completed channel and thread once completed. */
  files: Map<string, { filename: string; title?: string; content?: Buffer; channel?: string; threadTs?: string }>;
  /** Resolves once `predicate(calls)` is true (checked on every call and every 50 ms); rejects after timeoutMs. */
  waitFor(predicate: (calls: FakeSlackCall[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Responds to the next `n` calls of `method` with HTTP 429 and `Retry-After: retryAfterSeconds`. */
  failNext(method: string, n: number, retryAfterSeconds: number): void;
  /** Responds to the next `n` calls of `method` with `{ ok: false, error }`. */
  errorNext(method: string, n: number, error: string): void;
  /** The calls of one method, in arrival order. */
  callsOf(method: string): FakeSlackCall[];
  stop(): Promise<void>;
}

function toApiMessage(message: FakeSlackMessage): Record<string, unknown> {
  return { type: 'message', ts: message.ts, thread_ts: message.threadTs, text: message.text, blocks: message.blocks, metadata: message.metadata };
}

const JSON_FIELDS = new Set(['blocks', 'attachments', 'view', 'files', 'metadata', 'unfurl']);

export async function startFakeSlack(options: { botUserId?: string; teamId?: string; socketModeUrl?: string } = {}): Promise<FakeSlack> {
  const botUserId = options.botUserId ?? 'UBOT000001';
  const teamId = options.teamId ?? 'T00000001';
  const calls: FakeSlackCall[] = [];
  const messages = new Map<string, FakeSlackMessage>();
  const files: FakeSlack['files'] = new Map();
  const rateLimited = new Map<string, { remaining: number; retryAfterSeconds: number }>();
  const errors = new Map<string, { remaining: number; error: string }>();
  const waiters = new Set<() => void>();
  let tsCounter = 0;

  const nextTs = (): string => {
    tsCounter += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(tsCounter).padStart(6, '0')}`;
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void handle(request, Buffer.concat(chunks), response).catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(String(error));
      });
    });
  });

  const record = (call: FakeSlackCall): void => {
    calls.push(call);
    for (const wake of waiters) wake();
  };

  const handle = async (request: http.IncomingMessage, raw: Buffer, response: http.ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const authorization = request.headers.authorization;
    const time = Date.now();

    if (url.pathname.startsWith('/upload/')) {
      const fileId = url.pathname.slice('/upload/'.length);
      const file = await readUploadedFile(request, raw);
      const entry = files.get(fileId);
      if (entry) entry.content = file;
      record({ method: 'upload', body: { file_id: fileId }, authorization, file, time, status: 200 });
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(`OK - ${file.length}`);
      return;
    }

    const method = url.pathname.replace(/^\/api\//, '');
    const body = parseBody(request.headers['content-type'], raw, url.searchParams);

    const limit = rateLimited.get(method);
    if (limit && limit.remaining > 0) {
      limit.remaining -= 1;
      record({ method, body, authorization, time, status: 429 });
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(limit.retryAfterSeconds) });
      response.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      return;
    }

    const failure = errors.get(method);
    if (failure && failure.remaining > 0) {
      failure.remaining -= 1;
      record({ method, body, authorization, time, status: 200 });
      sendJson(response, { ok: false, error: failure.error });
      return;
    }

    record({ method, body, authorization, time, status: 200 });
    sendJson(response, answer(method, body));
  };

  const answer = (method: string, body: Record<string, unknown>): Record<string, unknown> => {
    const channel = String(body.channel ?? '');
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fake.slack.test/', team: 'Fake', user: 'trainops', team_id: teamId, user_id: botUserId, bot_id: 'B00000001' };
      case 'chat.postMessage': {
        if (!channel) return { ok: false, error: 'channel_not_found' };
        const ts = nextTs();
        const threadTs = body.thread_ts === undefined ? undefined : String(body.thread_ts);
        const message: FakeSlackMessage = {
          channel,
          ts,
          threadTs,
          text: String(body.text ?? ''),
          blocks: body.blocks as unknown[] | undefined,
          metadata: body.metadata,
          updates: 0,
        };
        messages.set(`${channel}:${ts}`, message);
        return { ok: true, channel, ts, message: { type: 'message', text: message.text, ts, thread_ts: threadTs } };
      }
      case 'chat.update': {
        const key = `${channel}:${String(body.ts ?? '')}`;
        const message = messages.get(key);
        if (!message) return { ok: false, error: 'message_not_found' };
        message.text = String(body.text ?? message.text);
        message.blocks = (body.blocks as unknown[] | undefined) ?? message.blocks;
        message.updates += 1;
        return { ok: true, channel, ts: message.ts, text: message.text };
      }
      case 'conversations.replies': {
        const root = String(body.ts ?? '');
        const thread = [...messages.values()].filter((message) => message.channel === channel && (message.ts === root || message.threadTs === root));
        return { ok: true, messages: thread.map(toApiMessage), has_more: false, response_metadata: { next_cursor: '' } };
      }
      case 'conversations.history': {
        const history = [...messages.values()].filter((message) => message.channel === channel && message.threadTs === undefined).reverse();
        return { ok: true, messages: history.map(toApiMessage), has_more: false, response_metadata: { next_cursor: '' } };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: nextTs() };
      case 'views.publish':
      case 'views.open':
      case 'views.update':
        return { ok: true, view: { id: `V${randomBytes(4).toString('hex').toUpperCase()}`, ...(body.view as object) } };
      case 'users.info': {
        const user = String(body.user ?? '');
        return { ok: true, user: { id: user, name: user.toLowerCase(), real_name: `User ${user}`, tz: 'Asia/Shanghai', locale: 'zh-CN' } };
      }
      case 'conversations.open':
        return { ok: true, channel: { id: `D${String(body.users ?? 'X').replace(/[^A-Z0-9]/g, '').slice(0, 10)}` } };
      case 'files.getUploadURLExternal': {
        const fileId = `F${randomBytes(5).toString('hex').toUpperCase()}`;
        files.set(fileId, { filename: String(body.filename ?? '') });
        return { ok: true, upload_url: `${baseUrl}/upload/${fileId}`, file_id: fileId };
      }
      case 'files.completeUploadExternal': {
        const list = (body.files as Array<{ id: string; title?: string }> | undefined) ?? [];
        for (const item of list) {
          const entry = files.get(item.id);
          if (!entry) return { ok: false, error: 'file_not_found' };
          entry.title = item.title;
          entry.channel = body.channel_id === undefined ? undefined : String(body.channel_id);
          entry.threadTs = body.thread_ts === undefined ? undefined : String(body.thread_ts);
        }
        return { ok: true, files: list.map((item) => ({ id: item.id, title: item.title })) };
      }
      case 'apps.connections.open':
        return { ok: true, url: options.socketModeUrl ?? `${baseUrl.replace(/^http/, 'ws')}/socket-mode` };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  };

  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;

  const waitFor = async (predicate: (calls: FakeSlackCall[]) => boolean, timeoutMs = 30_000): Promise<void> => {
    if (predicate(calls)) return;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!predicate(calls)) return;
        cleanup();
        resolve();
      };
      const poll = setInterval(check, 50);
      const timer = setTimeout(() => {
        cleanup();
        const seen = calls.map((call) => `${call.method}(${call.status})`).join(', ');
        reject(new Error(`fake Slack: condition not met within ${timeoutMs} ms; calls so far: ${seen || 'none'}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearInterval(poll);
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
    });
  };

  return {
    url: `${baseUrl}/api/`,
    calls,
    messages,
    files,
    waitFor,
    failNext: (method, n, retryAfterSeconds) => {
      rateLimited.set(method, { remaining: n, retryAfterSeconds });
    },
    errorNext: (method, n, error) => {
      errors.set(method, { remaining: n, error });
    },
    callsOf: (method) => calls.filter((call) => call.method === method),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sendJson(response: http.ServerResponse, body: Record<string, unknown>): void {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** Parses a Web API request body: form-encoded (WebClient's default) or JSON, plus query parameters. */
function parseBody(contentType: string | undefined, raw: Buffer, query: URLSearchParams): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, value] of query) body[key] = value;
  if (contentType?.includes('application/json')) {
    return { ...body, ...(JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>) };
  }
  for (const [key, value] of new URLSearchParams(raw.toString('utf8'))) {
    body[key] = JSON_FIELDS.has(key) ? parseJsonOrKeep(value) : value;
  }
  return body;
}

function parseJsonOrKeep(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** Reads the bytes of an upload: a multipart form (WebClient sends one) or a raw body. */
async function readUploadedFile(request: http.IncomingMessage, raw: Buffer): Promise<Buffer> {
  const contentType = request.headers['content-type'] ?? '';
  if (!contentType.includes('multipart/form-data')) return raw;
  const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  for (const value of form.values()) {
    if (typeof value !== 'string') return Buffer.from(await value.arrayBuffer());
  }
  return Buffer.alloc(0);
}
