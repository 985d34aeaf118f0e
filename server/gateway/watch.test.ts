// The one watch shape on a real socket.io server and client, with a fake feed (no lab, no kernel).
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents } from '../protocol/events';
import type { LoaderStatus } from '../protocol/tracer';
import { ask, listenAndConnect, type PjClient } from '../../test/socket';
import type { PjServer } from './types';
import { createWatch, type Watch } from './watch';

const status = (emitted: number): LoaderStatus => ({ state: 'ready', restarts: 0, emitted, lost: 0, badLines: 0 });
const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

describe('watch', () => {
  const http = createServer();
  const io: PjServer = new Server<ClientToServerEvents, ServerToClientEvents>(http);
  const feed = { first: 0, idle: 0 };
  let current = status(0);
  let watch: Watch<'tracer:status'>;
  let client: PjClient;
  const updates: LoaderStatus[] = [];

  beforeAll(async () => {
    watch = createWatch(io, {
      topic: 'tracer:status',
      current: () => current,
      onFirst: () => feed.first++,
      onIdle: () => feed.idle++,
    });
    ({ client } = await listenAndConnect(http));
    client.on('tracer:status:update', (s) => updates.push(s));
  });
  afterAll(async () => {
    client.close();
    watch.dispose();
    await io.close();
  });

  it('answers a watch with the current state, then pushes updates until the last unwatch', async () => {
    current = status(1);
    const r = await ask<LoaderStatus>(client, 'tracer:status:watch', {});
    expect(r).toEqual({ ok: true, value: status(1) });
    expect(feed).toEqual({ first: 1, idle: 0 });
    watch.publish(status(2));
    await expect.poll(() => updates.at(-1)?.emitted).toBe(2);

    // Two views on one socket: the first unwatch leaves the other watching.
    await ask(client, 'tracer:status:watch', {});
    expect(watch.watchers).toBe(1);
    client.emit('tracer:status:unwatch');
    await tick();
    watch.publish(status(3));
    await expect.poll(() => updates.at(-1)?.emitted).toBe(3);
    expect(feed.idle).toBe(0);

    client.emit('tracer:status:unwatch');
    await expect.poll(() => feed.idle).toBe(1);
    expect(watch.watchers).toBe(0);
    const n = updates.length;
    watch.publish(status(4));
    await tick(100);
    expect(updates.length).toBe(n);
    client.emit('tracer:status:unwatch'); // one too many is harmless
  });

  it('rejects a malformed watch with a one-line error, and does not join', async () => {
    const r = await ask<LoaderStatus>(client, 'tracer:status:watch', { bogus: 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).not.toContain('\n');
    expect(watch.watchers).toBe(0);
  });

  it('a disconnect leaves, and stops the feed', async () => {
    const other = await secondClient();
    await ask(other, 'tracer:status:watch', undefined);
    expect(watch.watchers).toBe(1);
    const before = feed.idle;
    other.close();
    await expect.poll(() => feed.idle).toBe(before + 1);
    expect(watch.watchers).toBe(0);
  });

  /** Another client on the same server (listenAndConnect already made it listen). */
  async function secondClient(): Promise<PjClient> {
    const addr = http.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const c: PjClient = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
    await new Promise<void>((r) => c.on('connect', () => r()));
    return c;
  }
});
