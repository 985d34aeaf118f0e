// A real socket.io client against a real HTTP server on an ephemeral port of 127.0.0.1, for the tests
// of each capability's socket events.
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { Ack } from '../server/protocol/common';
import type { ClientToServerEvents, ServerToClientEvents } from '../server/protocol/events';

export type PjClient = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Starts `http` listening and connects a websocket client; resolves once it is connected. */
export async function listenAndConnect(http: HttpServer): Promise<{ base: string; client: PjClient }> {
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return { base, client: await connectTo(base) };
}

/** Another websocket client of a server that is already listening; resolves once it is connected. */
export async function connectTo(base: string, opts: Partial<ManagerOptions & SocketOptions> = {}): Promise<PjClient> {
  const client: PjClient = io(base, { transports: ['websocket'], ...opts });
  await new Promise<void>((r) => client.on('connect', () => r()));
  return client;
}

/** Emits a request event and resolves with its ack, untyped on the way in so tests can send bad input. */
export function ask<T>(client: PjClient, ev: keyof ClientToServerEvents, req: unknown): Promise<Ack<T>> {
  return new Promise((resolve) => {
    (client.emit as (e: string, r: unknown, a: (x: Ack<T>) => void) => void)(ev, req, resolve);
  });
}
