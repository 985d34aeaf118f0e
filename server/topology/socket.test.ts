// The topology socket events end to end: a real socket.io server and client, a real netns (pjt-topo-s1).
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connectClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PjServer } from '../gateway/types';
import type { Ack } from '../protocol/common';
import type { ClientToServerEvents, ServerToClientEvents, Topology } from '../protocol/index';
import { exec, execOk } from '../sys/exec';
import { attach } from './socket';

const NS = 'pjt-topo-s1';
let http: HttpServer;
let io: PjServer;
let detach: () => void;
let client: Socket<ServerToClientEvents, ClientToServerEvents>;

function call(ev: 'topology:watch' | 'topology:get', req: unknown): Promise<Ack<Topology>> {
  return new Promise((resolve) => {
    (client.emit as (e: string, r: unknown, a: (x: Ack<Topology>) => void) => void)(ev, req, resolve);
  });
}

beforeAll(async () => {
  await exec(['ip', 'netns', 'del', NS]);
  await execOk(['ip', 'netns', 'add', NS]);
  http = createServer();
  io = new Server(http) as PjServer;
  detach = attach(io);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const { port } = http.address() as AddressInfo;
  client = connectClient(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
  await new Promise<void>((r) => client.on('connect', () => r()));
});

afterAll(async () => {
  client?.close();
  detach?.();
  await new Promise((r) => io?.close(() => r(undefined)));
  await exec(['ip', 'netns', 'del', NS]);
});

describe('topology socket', () => {
  it('rejects a malformed request with a one-line error', async () => {
    const r = await call('topology:get', { bogus: 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).not.toContain('\n');
  });

  it('answers topology:get with every namespace', async () => {
    const r = await call('topology:get', {});
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.namespaces.some((n) => n.name === NS)).toBe(true);
  });

  it('pushes topology:update within 1 s of a change while watched, and stops after unwatch', async () => {
    const updates: Topology[] = [];
    client.on('topology:update', (t) => updates.push(t));
    const r = await call('topology:watch', {});
    expect(r.ok).toBe(true);
    await new Promise((res) => setTimeout(res, 700)); // let the first poll settle
    const t0 = Date.now();
    await execOk(['ip', '-n', NS, 'link', 'add', 'pjt-s0', 'type', 'veth', 'peer', 'name', 'pjt-s1']);
    const has = () =>
      updates.some((t) => t.namespaces.find((n) => n.name === NS)?.interfaces.some((f) => f.name === 'pjt-s0'));
    while (!has() && Date.now() - t0 < 3000) await new Promise((res) => setTimeout(res, 20));
    expect(has()).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1000);

    client.emit('topology:unwatch');
    await new Promise((res) => setTimeout(res, 700));
    const n = updates.length;
    await execOk(['ip', '-n', NS, 'link', 'set', 'pjt-s0', 'up']);
    await new Promise((res) => setTimeout(res, 1200));
    expect(updates.length).toBe(n);
  });
});
