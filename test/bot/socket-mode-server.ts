/**
 * A local stand-in for Slack's Socket Mode endpoint: `POST /api/apps.connections.open`
 * returns a `ws://127.0.0.1:<port>/socket` URL on the same server, which accepts
 * one WebSocket at a time, sends `hello`, and records every JSON frame the app sends.
 *
 * The WebSocket side is written by hand (RFC 6455 handshake and unfragmented frames)
 * because the `ws` package is not installed here: @slack/socket-mode 3 connects with
 * undici's built-in WebSocket client and brings no server.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export interface SocketModeServer {
  /** Web API base URL for the socket-mode client (`slackApiUrl`). */
  apiUrl: string;
  /** JSON frames received from the app. */
  received: unknown[];
  /** Sends an envelope (a JSON object) to the connected app. */
  send(envelope: object): void;
  /** Resolves once the app is connected and has been sent `hello`. */
  connected(): Promise<void>;
  /** Resolves once `predicate` holds for a received frame; rejects after timeoutMs. */
  waitForFrame(predicate: (frame: unknown) => boolean, timeoutMs?: number): Promise<unknown>;
  stop(): Promise<void>;
}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export async function startSocketModeServer(): Promise<SocketModeServer> {
  const received: unknown[] = [];
  const listeners = new Set<() => void>();
  let socket: Duplex | undefined;
  let onConnected: () => void = () => {};
  const connectedPromise = new Promise<void>((resolve) => {
    onConnected = resolve;
  });

  const server = http.createServer((request, response) => {
    request.resume();
    if (request.url?.startsWith('/api/apps.connections.open')) {
      const { port } = server.address() as AddressInfo;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: true, url: `ws://127.0.0.1:${port}/socket` }));
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ ok: false, error: 'unknown_method' }));
  });

  server.on('upgrade', (request, upgraded: Duplex) => {
    const key = request.headers['sec-websocket-key'];
    if (typeof key !== 'string') {
      upgraded.destroy();
      return;
    }
    const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
    upgraded.write(
      ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`, '', ''].join('\r\n'),
    );
    socket = upgraded;

    let buffer = Buffer.alloc(0);
    upgraded.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const frame = readFrame(buffer);
        if (!frame) break;
        buffer = buffer.subarray(frame.length);
        if (frame.opcode === 0x1) {
          received.push(JSON.parse(frame.payload.toString('utf8')));
          for (const wake of listeners) wake();
        } else if (frame.opcode === 0x9) {
          upgraded.write(encodeFrame(0xa, frame.payload));
        } else if (frame.opcode === 0x8) {
          upgraded.end(encodeFrame(0x8, frame.payload.subarray(0, 2)));
        }
      }
    });
    upgraded.on('error', () => {});

    upgraded.write(encodeFrame(0x1, Buffer.from(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0TEST' } }))));
    onConnected();
  });

  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;

  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    received,
    send(envelope) {
      if (!socket) throw new Error('no Socket Mode client is connected');
      socket.write(encodeFrame(0x1, Buffer.from(JSON.stringify(envelope))));
    },
    connected: () => connectedPromise,
    waitForFrame(predicate, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = received.find(predicate);
          if (found !== undefined) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no matching frame within ${timeoutMs} ms; received ${JSON.stringify(received)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    async stop() {
      socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads one complete frame from the start of `buffer` (client frames are masked). */
function readFrame(buffer: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = buffer[0]! & 0x0f;
  const masked = (buffer[1]! & 0x80) !== 0;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskOffset = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return undefined;

  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (masked) {
    for (let index = 0; index < payload.length; index += 1) payload[index]! ^= buffer[maskOffset + (index % 4)]!;
  }
  return { opcode, payload, length: offset + length };
}

/** Encodes one unmasked, final frame (servers never mask). */
function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const header =
    payload.length < 126
      ? Buffer.from([0x80 | opcode, payload.length])
      : payload.length < 65536
        ? Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigLength(payload.length)]);
  return Buffer.concat([header, payload]);
}

function bigLength(length: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(BigInt(length));
  return buffer;
}
