// The topology socket events end to end: a real socket.io server and client, a real netns (pjt-topo-s1).
import { createServer, type Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PjServer } from '../gateway/types';
import type { Topology } from '../protocol/index';
import { exec, execOk } from '../sys/exec';
import { attach } from './socket';
import { ask, listenAndConnect, type PjClient } from '../../test/socket';

const NS = 'pjt-topo-s1';
let http: HttpServer;
let io: PjServer;
let detach: () => void;
let client: PjClient;

const call = (ev: 'topology:watch' | 'topology:get', req: unknown) => ask<Topology>(client, ev, req);

beforeAll(async () => {
  await exec(['ip', 'netns', 'del', NS]);
  await execOk(['ip', 'netns', 'add', NS]);
  http = createServer();
  io = new Server(http) as PjServer;
  detach = attach(io);
  ({ client } = await listenAndConnect(http));
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
