// Live traces under parallel requests, early disconnects and a busy loader: a real socket.io server
// and clients, the real probe loader and the lab.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack } from '../protocol/common';
import type { ClientToServerEvents, ServerToClientEvents } from '../protocol/events';
import type { PjServer, PjSocket as PjServerSocket } from '../gateway/types';
import { labUp } from '../lab/index';
import { getLoader } from './loader';
import { attach } from './socket';
import { ask, connectTo, listenAndConnect, type PjClient } from '../../test/socket';

type Started = Ack<{ liveId: string }>;

describe('live traces under races (real kernel)', () => {
  const http = createServer();
  const io: PjServer = new Server<ClientToServerEvents, ServerToClientEvents>(http);
  let detach: () => void = () => undefined;
  let client: PjClient;
  let base = '';
  const clients: PjClient[] = [];
  const another = async (): Promise<PjClient> => {
    const c = await connectTo(base);
    clients.push(c);
    return c;
  };
  const stopAll = async (c: PjClient, acks: Started[]): Promise<void> => {
    for (const a of acks) if (a.ok) await ask(c, 'tracer:live:stop', { liveId: a.value.liveId });
  };

  beforeAll(async () => {
    execFileSync('make', ['-s', '-C', new URL('../../probes', import.meta.url).pathname], { stdio: 'inherit' });
    await labUp();
    detach = attach(io);
    ({ client, base } = await listenAndConnect(http));
    // The loader up before the races, so a start is quick (as it is on a server that traced before).
    await getLoader().ensureStarted();
  });

  afterAll(async () => {
    for (const c of [client, ...clients]) c.close();
    detach();
    await io.close();
  });

  it('10 parallel live starts on one socket: 4 succeed (the limit), 6 are refused in one line', async () => {
    const acks = await Promise.all(
      Array.from({ length: 10 }, () => ask<{ liveId: string }>(client, 'tracer:live:start', { proto: 'icmp' })),
    );
    await stopAll(client, acks);
    expect(acks.filter((a) => a.ok)).toHaveLength(4);
    expect(acks.filter((a) => !a.ok)).toEqual(
      Array(6).fill({
        ok: false,
        error: 'at most 4 live traces per client',
        msg: { key: 'err.liveLimit', values: { max: 4 } },
      }) as unknown[],
    );
  });

  it('a live start whose client disconnects before the answer releases its kernel slot', async () => {
    const loader = getLoader();
    await expect.poll(() => loader.subscriptions, { timeout: 3000 }).toBe(0);
    // The connection drops while the start is on its way (the handler is already waiting on the kernel).
    const dropMidStart = (s: PjServerSocket): void =>
      void s.onAny((ev: string) => {
        if (ev === 'tracer:live:start') setImmediate(() => s.disconnect(true));
      });
    io.on('connection', dropMidStart);
    const c = await another();
    io.off('connection', dropMidStart);
    const gone = new Promise<void>((r) => c.on('disconnect', () => r()));
    c.emit('tracer:live:start', { proto: 'icmp', netns: ['pod-a', 'node1'] }, () => undefined);
    await gone;
    // Long enough for the start to finish on the server (it takes well under a second).
    await new Promise((r) => setTimeout(r, 1000));
    expect(loader.subscriptions).toBe(0);
  });

  it('five live starts during a ping flood all succeed, without an uncaught error or listener warning', async () => {
    const uncaught: unknown[] = [];
    const warnings: string[] = [];
    const onUncaught = (e: unknown): void => void uncaught.push(e);
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('uncaughtException', onUncaught);
    process.on('warning', onWarning);
    const ping = spawn('ip', ['netns', 'exec', 'pod-a', 'ping', '-q', '-i', '0.005', '10.244.2.2'], {
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const cs = await Promise.all(Array.from({ length: 5 }, () => another()));
      // A busy server: the loader's answer and the first events after it reach us in one read.
      const busy = setInterval(() => {
        for (const end = Date.now() + 20; Date.now() < end;);
      }, 5);
      const acks = await Promise.all(cs.map((c) => ask<{ liveId: string }>(c, 'tracer:live:start', {})));
      clearInterval(busy);
      await new Promise((r) => setTimeout(r, 500));
      await Promise.all(cs.map((c, i) => stopAll(c, [acks[i] as Started])));
      expect(acks.map((a) => a.ok)).toEqual([true, true, true, true, true]);
      expect(uncaught.map(String)).toEqual([]);
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      ping.kill();
      process.off('uncaughtException', onUncaught);
      process.off('warning', onWarning);
    }
  });

  it('stops asked of the loader while it is stopping add no exit listener each', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const loader = getLoader();
      await loader.ensureStarted();
      await Promise.all(Array.from({ length: 12 }, () => loader.stop()));
      await new Promise((r) => setImmediate(r));
      expect(loader.status.state).toBe('stopped');
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
