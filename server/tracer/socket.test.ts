// The tracer's socket events on a real socket.io server and client, against the real kernel and lab.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack } from '../protocol/common';
import type { ClientToServerEvents, ServerToClientEvents } from '../protocol/events';
import type { Journey, LiveBatch, LiveStarted, LoaderStatus } from '../protocol/tracer';
import type { PjServer } from '../gateway/types';
import { labUp } from '../lab/index';
import { getLoader } from './loader';
import { attach } from './socket';
import { ask, connectTo, listenAndConnect, type PjClient } from '../../test/socket';

describe('tracer socket events (real kernel)', () => {
  const http = createServer();
  const io: PjServer = new Server<ClientToServerEvents, ServerToClientEvents>(http);
  let detach: () => void = () => undefined;
  let client: PjClient;
  let base = '';

  beforeAll(async () => {
    execFileSync('make', ['-s', '-C', new URL('../../probes', import.meta.url).pathname], { stdio: 'inherit' });
    await labUp();
    detach = attach(io);
    ({ client, base } = await listenAndConnect(http));
  });

  afterAll(async () => {
    client.close();
    detach();
    await io.close();
  });

  it('follows over the socket: partial journeys batched, the final one in the ack', async () => {
    const partial: Journey[][] = [];
    client.on('tracer:journeys', (js) => partial.push(js));
    const r = await new Promise<Ack<Journey>>((res) =>
      client.emit('tracer:follow', { from: 'pod-a', to: 'pod-c' }, res),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.delivered).toBe(true);
    expect(r.value.lanes).toEqual(['pod-a', 'node1', 'host', 'node2', 'pod-c']);
    expect(partial.every((b) => b.length === 1 && b[0]?.pending === true)).toBe(true);
  });

  it('partial journeys carry the id the client chose, from the first one on', async () => {
    const partial: Journey[] = [];
    client.on('tracer:journeys', (js) => partial.push(...js));
    // Nobody answers at that address: the follow waits out its timeout, streaming what it saw meanwhile.
    const r = await ask<Journey>(client, 'tracer:follow', {
      id: 'mine-1',
      from: 'pod-a',
      to: '10.244.2.99',
      timeoutMs: 1000,
    });
    expect(r.ok && r.value.id).toBe('mine-1');
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.every((j) => j.id === 'mine-1')).toBe(true);
  });

  it('refuses a bad or duplicate trace id with a one-line error', async () => {
    for (const id of ['has space', 'x'.repeat(33), '../x', '']) {
      const bad = await ask<Journey>(client, 'tracer:follow', { id, from: 'pod-a', to: 'pod-c' });
      expect(bad.ok).toBe(false);
      if (!bad.ok) expect(bad.error).toMatch(/^id: not a valid trace id[^\n]*$/);
      const badLive = await ask(client, 'tracer:live:start', { liveId: id, proto: 'icmp' });
      expect(badLive.ok).toBe(false);
      if (!badLive.ok) expect(badLive.error).toMatch(/^liveId: not a valid trace id[^\n]*$/);
    }
    const first = await ask<{ liveId: string }>(client, 'tracer:live:start', { liveId: 'dup', proto: 'icmp' });
    expect(first).toEqual({ ok: true, value: { liveId: 'dup', trace: expect.any(String) as unknown, from: 0 } });
    const again = await ask(client, 'tracer:live:start', { liveId: 'dup', proto: 'udp' });
    expect(again).toMatchObject({ ok: false, error: 'trace id "dup" is already in use by a running trace' });
    const follow = await ask(client, 'tracer:follow', { id: 'dup', from: 'pod-a', to: 'pod-c' });
    expect(follow).toMatchObject({ ok: false, error: 'trace id "dup" is already in use by a running trace' });
    // Another connection has its own ids.
    const other = await connectTo(base);
    const theirs = await ask<{ liveId: string }>(other, 'tracer:live:start', { liveId: 'dup', proto: 'icmp' });
    expect(theirs.ok).toBe(true);
    other.close();
    expect(await ask(client, 'tracer:live:stop', { liveId: 'dup' })).toEqual({ ok: true, value: null });
    // Stopped, the id is free again.
    const reuse = await ask(client, 'tracer:live:start', { liveId: 'dup', proto: 'icmp' });
    expect(reuse.ok).toBe(true);
    expect(await ask(client, 'tracer:live:stop', { liveId: 'dup' })).toEqual({ ok: true, value: null });
  });

  it('answers bad requests with a one-line error', async () => {
    const bad = await new Promise<Ack<Journey>>((res) =>
      client.emit('tracer:follow', { from: '../etc', to: 'pod-c' }, res),
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatch(/^from: /);
    const unknown = await new Promise<Ack<Journey>>((res) =>
      client.emit('tracer:follow', { from: 'nope', to: 'pod-c' }, res),
    );
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.error).toMatch(/unknown namespace "nope"/);
    const live = await new Promise<Ack<{ liveId: string }>>((res) =>
      client.emit('tracer:live:start', { proto: 'sctp' }, res),
    );
    expect(live.ok).toBe(false);
  });

  it('streams the loader status for the banner', async () => {
    const r = await new Promise<Ack<LoaderStatus>>((res) => client.emit('tracer:status:watch', {}, res));
    expect(r.ok).toBe(true);
    if (r.ok) expect(['ready', 'starting', 'stopped']).toContain(r.value.state);
  });

  it("live mode: every ICMP packet in pod-a arrives as a journey, batched, under its shared trace's key", async () => {
    const batches: LiveBatch[] = [];
    client.on('tracer:live', (b) => batches.push(b));
    const r = await new Promise<Ack<LiveStarted>>((res) =>
      client.emit('tracer:live:start', { liveId: 'live-a', proto: 'icmp', netns: ['pod-a', 'node1', 'pod-b'] }, res),
    );
    expect(r).toEqual({ ok: true, value: { liveId: 'live-a', trace: expect.any(String) as unknown, from: 0 } });
    if (!r.ok) return;
    execFileSync('nsenter', [
      '--net=/var/run/netns/pod-a',
      '--',
      'ping',
      '-n',
      '-q',
      '-c3',
      '-i',
      '0.05',
      '10.244.1.3',
    ]);
    await expect
      .poll(() => batches.flatMap((b) => b.journeys).filter((j) => j.hops[0]?.netns === 'pod-a').length, {
        timeout: 3000,
      })
      .toBeGreaterThanOrEqual(3);
    const js = batches.flatMap((b) => b.journeys);
    const req = js.find((j) => j.hops[0]?.icmp?.type === 8);
    expect(req?.lanes).toEqual(['pod-a', 'node1', 'pod-b']);
    expect(batches.every((b) => b.trace === r.value.trace)).toBe(true);
    const stop = await new Promise<Ack<null>>((res) =>
      client.emit('tracer:live:stop', { liveId: r.value.liveId }, res),
    );
    expect(stop.ok).toBe(true);
  });

  it('live mode links netfilter only in the namespaces the traced traffic crosses, until it stops', async () => {
    const r = await new Promise<Ack<{ liveId: string }>>((res) =>
      client.emit('tracer:live:start', { proto: 'icmp', addr: '10.244.1.3' }, res),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(getLoader().netfilterNetns).toEqual([]);
    execFileSync('nsenter', [
      '--net=/var/run/netns/pod-a',
      '--',
      'ping',
      '-n',
      '-q',
      '-c2',
      '-i',
      '0.05',
      '10.244.1.3',
    ]);
    const inode = (ns: string) => statSync(`/var/run/netns/${ns}`).ino;
    await expect
      .poll(() => [...getLoader().netfilterNetns].sort(), { timeout: 2000 })
      .toEqual([inode('pod-a'), inode('node1'), inode('pod-b')].sort());
    await new Promise<Ack<null>>((res) => client.emit('tracer:live:stop', { liveId: r.value.liveId }, res));
    await expect.poll(() => getLoader().netfilterNetns.length, { timeout: 2000 }).toBe(0);
  });
});
