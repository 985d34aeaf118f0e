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
      // Pushes: a watch answered in its ack, then updates, large ones too; an emit without ack stops them.
      let timer: NodeJS.Timeout | undefined;
      socket.on('flows:watch', (_req: unknown, ack: (a: unknown) => void) => {
        ack({ ok: true, value: { seq: 0 } });
        let seq = 0;
        timer = setInterval(() => socket.emit('flows:update', { seq: ++seq, blob: 'y'.repeat(seq * 40_000) }), 5);
      });
      socket.on('flows:unwatch', () => {
        clearInterval(timer);
        socket.emit('flows:update', { seq: -1 });
      });
      socket.on('disconnect', () => clearInterval(timer));
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

  it("hands the server's pushes to their listeners in order, and emits without an ack", async () => {
    const s = await connectLean(url, { token: 'good', timeoutMs: 2000 });
    try {
      const seen: number[] = [];
      const stopped = new Promise<void>((resolve) =>
        s.on('flows:update', (p) => {
          const { seq, blob } = p as { seq: number; blob?: string };
          if (seq > 0) expect(blob?.length).toBe(seq * 40_000);
          seen.push(seq);
          if (seq === 3) s.emit('flows:unwatch', undefined);
          if (seq === -1) resolve();
        }),
      );
      expect(await s.request('flows:watch', {}, 2000)).toEqual({ ok: true, value: { seq: 0 } });
      await stopped;
      // Sent before the unwatch arrived may be a few more; the stop's push is the last.
      expect(seen.slice(0, 3)).toEqual([1, 2, 3]);
      expect(seen.at(-1)).toBe(-1);
    } finally {
      s.close();
    }
  });

  /** Resolves once the server holds no TCP connection: the client let go of its socket. */
  const released = async (): Promise<void> => {
    for (let i = 0; i < 100; i++) {
      const n = await new Promise<number>((r, j) => http.getConnections((e, c) => (e ? j(e) : r(c))));
      if (n === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the client still holds a connection to the server after 2 s');
  };

  it("is refused in one line with the server's reason when the token is wrong, and lets go of its socket", async () => {
    await expect(connectLean(url, { token: 'bad', timeoutMs: 2000 })).rejects.toThrow('a valid token is needed');
    await released();
  });

  it('a server that drops the connection mid-request rejects the request, it does not hang', async () => {
    const s = await connectLean(url, { token: 'good', timeoutMs: 2000 });
    const gone = new Promise<string>((r) => s.onGone(r));
    await expect(s.request('tracer:follow', { quit: true }, 5000)).rejects.toThrow(/went away/);
    expect(await gone).toMatch(/closed/);
    await released(); // before close(): the server's close frame is enough
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
