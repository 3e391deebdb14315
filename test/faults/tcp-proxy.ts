/**
 * A TCP relay on a fixed loopback port in front of the test sshd. A test takes the "VM"
 * off the network (new connections refused, open ones cut) and brings it back on the
 * same port, which is how an outage or a deallocated VM looks to the bot.
 */
import net from 'node:net';

import { getFreePort } from '../support/free-port.js';

export interface TcpProxy {
  port: number;
  /** Closes the listener and cuts every relayed connection. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const port = await getFreePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;

  const listen = async (): Promise<void> => {
    const listening = net.createServer((client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', () => resolve());
    });
    server = listening;
  };

  const down = async (): Promise<void> => {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };

  await listen();
  return { port, down, up: listen, stop: down };
}
