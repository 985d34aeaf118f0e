// The CLI's lean socket.io client against a real socket.io server (the package the gateway uses): the
// handshake and token query, an emit with an ack, events it must ignore, large frames, a refusal and a
// server that goes away.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLean } from './cli-socket';

describe('connectLean (real socket.io server)', () => {
  let http: HttpServer;
  let io: Server;
  let url = '';

  beforeAll(async () => {
    http = createServer();
    io = new Server(http, { transports: ['websocket'] });
    io.use((socket, next) =>
      socket.handshake.query.token === 'good' ? next() : next(new Error('a valid token is needed')),
    );
    io.on('connection', (socket) => {
      socket.on('tracer:follow', (req: { size?: number; quit?: boolean }, ack: (a: unknown) => void) => {
        // Partial updates first, as the server's follow sends them: the client skips them.
        socket.emit('tracer:journeys', [{ partial: true }]);
        if (req.quit) return void socket.disconnect(true);
        ack({ ok: true, value: { echo: req, blob: 'x'.repeat(req.size ?? 0) } });
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await io.close();
  });

  it('connects with the token, gets the ack of its request, small and large (16- and 64-bit frames)', async () => {
    const s = await connectLean(url, { token: 'good', timeoutMs: 2000 });
    try {
      for (const size of [10, 70_000, 200_000]) {
        const a = await s.request('tracer:follow', { size }, 2000);
        expect(a).toMatchObject({ ok: true, value: { echo: { size } } });
        expect((a as { value: { blob: string } }).value.blob.length).toBe(size);
      }
    } finally {
      s.close();
    }
  });

  it("is refused in one line with the server's reason when the token is wrong", async () => {
    await expect(connectLean(url, { token: 'bad', timeoutMs: 2000 })).rejects.toThrow('a valid token is needed');
  });

  it('a server that drops the connection mid-request rejects the request, it does not hang', async () => {
    const s = await connectLean(url, { token: 'good', timeoutMs: 2000 });
    await expect(s.request('tracer:follow', { quit: true }, 5000)).rejects.toThrow(/went away/);
    s.close();
  });

  it('nothing listening: a one-line reason', async () => {
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const port = (free.address() as AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    await expect(connectLean(`http://127.0.0.1:${port}`, { timeoutMs: 1000 })).rejects.toThrow(/ECONNREFUSED/);
  });
});
