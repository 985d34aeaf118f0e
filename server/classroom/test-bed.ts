// A classroom test bed: the real gateway with the HTTP routing in front of a stand-in for Next, on an
// ephemeral port of 127.0.0.1, and the two ways a test talks to it (a socket that may be refused, a GET).
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io } from 'socket.io-client';
import { createGateway, type Gateway } from '../gateway';
import { requestListener } from '../gateway/http';
import type { Tokens } from './tokens';

export interface Bed {
  base: string;
  port: number;
  gateway: Gateway;
  close(): Promise<void>;
}

/** The gateway with the HTTP routing in front of a stand-in for Next that answers "page". */
export async function bed(tokens?: Tokens): Promise<Bed> {
  const http = createServer(
    requestListener(
      (_req, res) => res.end('page'),
      () => g,
    ),
  );
  const g: Gateway = createGateway(http, { host: '127.0.0.1', tokens });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const port = (http.address() as AddressInfo).port;
  return { base: `http://127.0.0.1:${port}`, port, gateway: g, close: () => g.close() };
}

/** Resolves with the connect error's message, or "connected". */
export function tryConnect(base: string, opts: Parameters<typeof io>[1]): Promise<string> {
  return new Promise((resolve) => {
    const c = io(base, { reconnection: false, ...opts });
    c.on('connect', () => (c.close(), resolve('connected')));
    c.on('connect_error', (e) => (c.close(), resolve(e.message)));
  });
}

export function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    r.on('error', reject);
    r.end();
  });
}
